package io.nodecast.delivery.slurm;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Whether a job's launcher starts steps without MPI, in which case activate.sh delivers with sbcast
 * ({@code --transport slurm}) instead of running bcast under the launcher.
 */
public final class SlurmSteps {
    private SlurmSteps() {}

    /**
     * True when the launcher is srun inside an allocation and its steps get no MPI: {@code --mpi=none} on its
     * command line, or no {@code --mpi} there and none as the default (SLURM_MPI_TYPE, else the cluster's
     * MpiDefault). NODECAST_TRANSPORT=slurm or =launcher decides instead when it is set.
     *
     * @param mpiDefault the cluster's MpiDefault, asked only when needed
     */
    public static boolean withoutMpi(String launcher, Map<String, String> env, Supplier<String> mpiDefault) {
        String forced = env.getOrDefault("NODECAST_TRANSPORT", "").strip().toLowerCase(Locale.ROOT);
        if (forced.equals("slurm")) return true;
        if (!forced.isEmpty()) return false;
        List<String> words = List.of(launcher.strip().split("\\s+"));
        if (words.isEmpty() || !Path.of(words.getFirst()).getFileName().toString().equals("srun")) return false;
        if (env.getOrDefault("SLURM_JOB_ID", "").isBlank()) return false;
        for (int i = 1; i < words.size(); i++) {
            String w = words.get(i);
            if (w.startsWith("--mpi=")) return w.substring(6).equals("none");
            if (w.equals("--mpi") && i + 1 < words.size()) return words.get(i + 1).equals("none");
        }
        String type = env.getOrDefault("SLURM_MPI_TYPE", "");
        if (!type.isBlank()) return type.strip().equals("none");
        return mpiDefault.get().equals("none");
    }

    /** The cluster's MpiDefault from {@code scontrol show config} ("" when it cannot be asked). */
    public static String mpiDefault() {
        try {
            Process p = new ProcessBuilder("scontrol", "show", "config").redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) return "";
            return out.lines().filter(l -> l.startsWith("MpiDefault")).map(l -> l.substring(l.indexOf('=') + 1).strip())
                    .findFirst().orElse("");
        } catch (java.io.IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
