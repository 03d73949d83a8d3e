package io.nodecast.transport;

/**
 * Where this process stands in the job.
 *
 * @param rank      rank in the whole job (0 reads bundles from the shared file system)
 * @param size      number of ranks in the job
 * @param node      index of this rank's node, 0 .. nodes-1 (node 0 holds rank 0)
 * @param nodes     number of nodes
 * @param leader    true on exactly one rank per node: the one that receives and unpacks
 * @param host      this node's name, used in every message about it
 */
public record Topology(int rank, int size, int node, int nodes, boolean leader, String host) {
    public Topology {
        if (rank < 0 || rank >= size) throw new IllegalArgumentException("rank " + rank + " outside 0.." + (size - 1));
        if (node < 0 || node >= nodes) throw new IllegalArgumentException("node " + node + " outside 0.." + (nodes - 1));
    }

    public boolean root() {
        return rank == 0;
    }

    public static Topology single(String host) {
        return new Topology(0, 1, 0, 1, true, host);
    }
}
