package io.nodecast.transport;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The job as the launcher that started this process describes it in the environment, read before any MPI call:
 * which transport a step needs depends on it. One rank has nobody to send to; several ranks that all run on this
 * node need no MPI either, only a place on the node to wait for rank 0 ({@link NodeTransport}).
 *
 * @param launched an MPI launcher (mpirun, mpiexec, or srun with more than one task) started this process
 * @param size     how many ranks the launcher started, when it says
 * @param rank     this process's rank among them, when it says
 * @param oneNode  the launcher says every rank runs on this node
 * @param step     a name the launcher gives every rank of this step alike and no other step: where the ranks of a
 *                 one-node step meet
 * @param simulatedNodes the tests' stand-in for several nodes on one machine ({@code NODECAST_SIMULATE_NODES}): the
 *                 ranks are cut into that many nodes by rank, and meet in MPI to be told apart
 * @param localRank this process's rank among those on its node, when the launcher says: above 0, it is not the node's
 *                 leader (the node's lowest rank) under the launchers nodecast knows, and bin/nodecast starts it
 *                 without the JIT
 */
public record World(boolean launched, OptionalInt size, OptionalInt rank, boolean oneNode, Optional<String> step,
                    OptionalInt simulatedNodes, OptionalInt localRank) {

    /** The process hydra starts on each node to start the ranks there: MPICH's (tried), and Intel MPI's (untried). */
    static final Set<String> HYDRA_PROXIES = Set.of("hydra_pmi_proxy", "pmi_proxy");

    public static World of(Map<String, String> env) {
        return of(env, ProcessHandle.current().parent());
    }

    /** @param parent this process's parent: under hydra, which sets no name for the job, its proxy names the step */
    static World of(Map<String, String> env, Optional<ProcessHandle> parent) {
        boolean launched = env.containsKey("OMPI_COMM_WORLD_SIZE") || env.containsKey("PMI_RANK") || env.containsKey("PMI_SIZE")
                || env.containsKey("PMIX_RANK") || env.containsKey("PMI_FD") || number(env, "SLURM_STEP_NUM_TASKS").orElse(1) > 1;
        OptionalInt size = first(env, "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS");
        OptionalInt rank = first(env, "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID");
        boolean oneNode = false;
        Optional<String> step = Optional.empty();
        OptionalInt simulated = number(env, "NODECAST_SIMULATE_NODES");
        if (env.containsKey("NODECAST_SIMULATE_NODES")) {
            if (simulated.orElse(0) < 1) {
                throw new NodecastException(ExitCode.USAGE, "NODECAST_SIMULATE_NODES must be a positive number of nodes, not '"
                        + env.get("NODECAST_SIMULATE_NODES") + "'");
            }
        } else if (env.containsKey("OMPI_COMM_WORLD_SIZE")) {
            oneNode = same(number(env, "OMPI_COMM_WORLD_LOCAL_SIZE"), size);
            step = text(env, "PMIX_NAMESPACE").or(() -> text(env, "OMPI_MCA_ess_base_jobid")).map(s -> "ompi-" + s);
        } else if (env.containsKey("MPI_LOCALNRANKS") && env.containsKey("PMI_SIZE")) {
            oneNode = same(number(env, "MPI_LOCALNRANKS"), number(env, "PMI_SIZE"));
            step = parent.flatMap(World::hydraStep);
        } else if (env.containsKey("SLURM_STEP_ID")) {
            oneNode = number(env, "SLURM_STEP_NUM_NODES").orElse(0) == 1;
            step = text(env, "SLURM_JOB_ID").map(j -> "slurm-" + j + "." + env.get("SLURM_STEP_ID").strip());
        }
        OptionalInt local = firstSet(env, "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "PALS_LOCAL_RANKID");
        return new World(launched, size, rank, oneNode, step, simulated, local);
    }

    /** The launcher says the world has one rank: nothing travels and nobody waits. */
    public boolean alone() {
        return size.orElse(0) == 1;
    }

    /**
     * The launcher says another rank of this node comes first: this one will not lead it, so it has nothing to
     * prepare for a stream. Not under {@code NODECAST_SIMULATE_NODES}, which makes leaders of other ranks.
     */
    public boolean waitsOnItsNode() {
        return simulatedNodes.isEmpty() && localRank.orElse(0) > 0;
    }

    /** Several ranks, all on this node, with a name to meet under: the step needs no MPI. */
    public boolean sharesOneNode() {
        return launched && size.orElse(0) > 1 && oneNode && rank.isPresent() && rank.getAsInt() < size.getAsInt() && step.isPresent();
    }

    /**
     * The step's name under hydra: its proxy's pid and start (clock ticks after boot), if the parent is that proxy.
     * Both from /proc/PID/stat, which bin/nodecast reads the same way for a rank that waits in the shell.
     */
    private static Optional<String> hydraStep(ProcessHandle parent) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(parent.pid()), "stat"), StandardCharsets.ISO_8859_1);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        int open = stat.indexOf('('), close = stat.lastIndexOf(')');
        if (open < 0 || close < open) return Optional.empty();
        String[] fields = stat.substring(close + 1).strip().split(" ");   // from the third field, the state
        boolean proxy = HYDRA_PROXIES.contains(stat.substring(open + 1, close));
        return proxy && fields.length > 19 ? Optional.of("hydra-" + parent.pid() + "-" + fields[19]) : Optional.empty();
    }

    private static OptionalInt first(Map<String, String> env, String... names) {
        for (String n : names) {
            OptionalInt v = number(env, n);
            if (v.isPresent()) return v;
        }
        return OptionalInt.empty();
    }

    /**
     * The first of these that is set, if it is a number; one that is not does not let a later one speak. bin/nodecast
     * reads them so ({@code ${A:-${B:-…}}}) to start a waiting rank interpreted, and the two must agree.
     */
    private static OptionalInt firstSet(Map<String, String> env, String... names) {
        for (String n : names) {
            if (text(env, n).isPresent()) return number(env, n);
        }
        return OptionalInt.empty();
    }

    private static boolean same(OptionalInt a, OptionalInt b) {
        return a.isPresent() && a.equals(b);
    }

    private static Optional<String> text(Map<String, String> env, String name) {
        return Optional.ofNullable(env.get(name)).map(String::strip).filter(s -> !s.isEmpty());
    }

    private static OptionalInt number(Map<String, String> env, String name) {
        try {
            return text(env, name).map(v -> OptionalInt.of(Integer.parseInt(v))).orElse(OptionalInt.empty());
        } catch (NumberFormatException e) {
            return OptionalInt.empty();
        }
    }
}
