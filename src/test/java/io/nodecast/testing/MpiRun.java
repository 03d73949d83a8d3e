package io.nodecast.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/** Starts bin/nodecast under a real MPI launcher, with K simulated nodes on this machine. */
public enum MpiRun {
    OPEN_MPI, MPICH;

    public List<String> command(int ranks, int nodes, String... args) {
        return command(ranks, OptionalInt.of(nodes), args);
    }

    /** @param simulated the number of simulated nodes, or nothing: the machine as it is */
    private List<String> command(int ranks, OptionalInt simulated, String... args) {
        List<String> cmd = new ArrayList<>();
        switch (this) {
            case OPEN_MPI -> {
                cmd.addAll(List.of("mpirun.openmpi", "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader,tcp",
                        "-np", String.valueOf(ranks)));
                simulated.ifPresent(n -> cmd.addAll(List.of("-x", "NODECAST_SIMULATE_NODES=" + n)));
            }
            case MPICH -> {
                cmd.addAll(List.of("mpirun.mpich", "-np", String.valueOf(ranks)));
                simulated.ifPresent(n -> cmd.addAll(List.of("-env", "NODECAST_SIMULATE_NODES", String.valueOf(n))));
            }
        }
        cmd.add(Launcher.nodecast().toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    public Launcher.Result run(int ranks, int nodes, String... args) {
        return Launcher.exec(command(ranks, nodes, args), Map.of());
    }

    /** Every rank on this one machine as the launcher sees it: no simulated nodes. */
    public Launcher.Result runOnOneNode(int ranks, String... args) {
        return Launcher.exec(commandOnOneNode(ranks, args), Map.of());
    }

    /** The command of {@link #runOnOneNode}, for a test that wraps it (in strace). */
    public List<String> commandOnOneNode(int ranks, String... args) {
        return command(ranks, OptionalInt.empty(), args);
    }
}
