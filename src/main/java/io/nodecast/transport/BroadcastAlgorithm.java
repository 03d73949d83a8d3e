package io.nodecast.transport;

import java.util.Locale;

/** How a bundle is broadcast among the leaders: the user's choice, {@code --bcast-algorithm}. */
public enum BroadcastAlgorithm {
    /** A chain or a 2- to 4-ary tree, whichever {@link BroadcastPlan} estimates cheapest for the leaders and size. */
    AUTO,
    /** Pipelined along the leaders in order: each link carries the bundle once; best for few nodes. */
    CHAIN,
    /** Pipelined down a binary tree: depth log2 N, so the fill stays small at thousands of nodes. */
    TREE,
    /** The MPI library's own non-blocking broadcast, one chunk at a time, two in flight. */
    IBCAST;

    public static BroadcastAlgorithm parse(String name) {
        try {
            return valueOf(name.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + name + "' is not a broadcast algorithm: auto, chain, tree or ibcast");
        }
    }
}
