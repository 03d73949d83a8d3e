package io.nodecast.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Starts bin/nodecast under a real MPI launcher, with K simulated nodes on this machine. */
public enum MpiRun {
    OPEN_MPI, MPICH;

    public List<String> command(int ranks, int nodes, String... args) {
        List<String> cmd = new ArrayList<>();
        switch (this) {
            case OPEN_MPI -> cmd.addAll(List.of("mpirun.openmpi", "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader,tcp",
                    "-np", String.valueOf(ranks), "-x", "NODECAST_SIMULATE_NODES=" + nodes));
            case MPICH -> cmd.addAll(List.of("mpirun.mpich", "-np", String.valueOf(ranks), "-env", "NODECAST_SIMULATE_NODES", String.valueOf(nodes)));
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
        List<String> cmd = new ArrayList<>(command(ranks, 1, args));
        int at = cmd.indexOf(this == OPEN_MPI ? "-x" : "-env");
        cmd.subList(at, at + (this == OPEN_MPI ? 2 : 3)).clear();
        return Launcher.exec(cmd, Map.of());
    }
}
