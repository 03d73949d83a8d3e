package io.nodecast.delivery.slurm;

import io.nodecast.core.ExitCode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** When activate.sh delivers with sbcast, and the lines and manifests the batch step and the nodes exchange. */
class SlurmStepsTest {
    static final Map<String, String> JOB = Map.of("SLURM_JOB_ID", "42");

    @Test
    void srunWithoutMpiInAnAllocationDeliversWithSbcast() {
        AtomicInteger asked = new AtomicInteger();
        assertThat(SlurmSteps.withoutMpi("srun --mpi=none -N 4", JOB, () -> "pmix")).isTrue();
        assertThat(SlurmSteps.withoutMpi("/usr/bin/srun --mpi none -n 8", JOB, () -> "pmix")).isTrue();
        assertThat(SlurmSteps.withoutMpi("srun --mpi=pmix -N 4", JOB, () -> "none")).isFalse();
        // no --mpi: srun's own default decides, from the environment first, then from the cluster
        assertThat(SlurmSteps.withoutMpi("srun -N 4", Map.of("SLURM_JOB_ID", "42", "SLURM_MPI_TYPE", "none"), () -> "pmix")).isTrue();
        assertThat(SlurmSteps.withoutMpi("srun -N 4", JOB, () -> {
            asked.incrementAndGet();
            return "none";
        })).isTrue();
        assertThat(asked).hasValue(1);
        assertThat(SlurmSteps.withoutMpi("srun -N 4", JOB, () -> "pmix")).isFalse();
    }

    @Test
    void otherLaunchersAndNoAllocationKeepTheLauncher() {
        assertThat(SlurmSteps.withoutMpi("mpirun -np 4", JOB, () -> "none")).isFalse();
        assertThat(SlurmSteps.withoutMpi("", JOB, () -> "none")).isFalse();
        assertThat(SlurmSteps.withoutMpi("srun --mpi=none", Map.of(), () -> "none")).isFalse();
        assertThat(SlurmSteps.withoutMpi("srun --mpi=none", Map.of("SLURM_JOB_ID", "42", "NODECAST_TRANSPORT", "launcher"), () -> "none")).isFalse();
        assertThat(SlurmSteps.withoutMpi("mpirun", Map.of("NODECAST_TRANSPORT", "slurm"), () -> "pmix")).isTrue();
    }

    @Test
    void reportLinesAndManifestsSurviveTheTripWhateverTheyHold() {
        NodeReport ok = new NodeReport(2, "n3", ExitCode.OK, "", List.of(new NodeReport.Figures(true, 0, 0, 0),
                new NodeReport.Figures(false, 1.25, 42, 1 << 20)));
        assertThat(NodeReport.parse(ok.line())).contains(ok);
        NodeReport bad = new NodeReport(0, "n1", ExitCode.NO_SPACE, "no room\tfor\nit", List.of());
        assertThat(NodeReport.parse(bad.line())).hasValueSatisfying(r -> {
            assertThat(r.code()).isEqualTo(ExitCode.NO_SPACE);
            assertThat(r.message()).isEqualTo("no room for it");
        });
        assertThat(NodeReport.parse("srun: warning: something")).isEmpty();
        Manifest m = new Manifest(List.of(new Manifest.Item("/shared/a b.tar.zst", "a b.tar.zst", 12, "ab".repeat(32)),
                new Manifest.Item("/home/u/app [bin]", "app-1.tar.zst", 0, "cd".repeat(32))));
        assertThat(Manifest.decode(m.encode())).isEqualTo(m);
        assertThat(m.encode()).matches("[A-Za-z0-9_-]+");
    }

    @Test
    void activateShDeliversAndPurgesOnceFromTheScriptWhenItsStepsHaveNoMpi(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        // a stand-in for bin/nodecast that notes how it was called
        java.nio.file.Path log = tmp.resolve("calls");
        java.nio.file.Path fake = tmp.resolve("nodecast");
        java.nio.file.Files.writeString(fake, "#!/bin/sh\necho \"$*\" >> " + log + "\n");
        fake.toFile().setExecutable(true);
        java.nio.file.Path dest = tmp.resolve("local");
        for (boolean viaSlurm : List.of(true, false)) {
            java.nio.file.Files.deleteIfExists(log);
            // srun stands for the launcher: it runs its command once, dropping its own flags
            java.nio.file.Path bin = java.nio.file.Files.createDirectories(tmp.resolve("bin"));
            String script = io.nodecast.env.Activation.script(dest, "srun --mpi=none -N 2", fake, io.nodecast.env.Language.of("python"),
                    Map.of("PYTHONUSERBASE", tmp.toString(), "PATH", bin + ":/usr/bin:/bin"), viaSlurm);
            java.nio.file.Files.writeString(bin.resolve("srun"), "#!/bin/sh\necho srun >> " + log + "\nshift 3\nexec \"$@\"\n");
            bin.resolve("srun").toFile().setExecutable(true);
            io.nodecast.testing.Launcher.Result r = io.nodecast.testing.Launcher.exec(List.of("bash", "-c",
                    script + "\nbcast a.tar.zst b.sqfs\nmirror app bin\nbcast-userbase\nexit 0"),
                    Map.of("PATH", bin + ":/usr/bin:/bin"));
            assertThat(r.exit()).as(r.err()).isZero();
            List<String> calls = java.nio.file.Files.readAllLines(log);
            if (viaSlurm) {
                assertThat(calls).containsExactly("bcast --transport slurm -p " + dest + " a.tar.zst b.sqfs",
                        "mirror --transport slurm -p " + dest + " app bin", "mirror --transport slurm --max-size none -p " + dest + " " + tmp,
                        "purge --transport slurm -p " + dest);
            } else {
                assertThat(calls).containsExactly("srun", "bcast -p " + dest + " a.tar.zst b.sqfs", "srun", "mirror -p " + dest + " app bin",
                        "srun", "mirror --max-size none -p " + dest + " " + tmp, "srun", "purge -p " + dest);
            }
        }
    }
}
