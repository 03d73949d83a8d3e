package io.nodecast.env;

/** Defaults shared by every command that names a destination. */
public final class Defaults {
    private Defaults() {}

    /** The paper's choice: memory-backed, node-local, present on every Linux node. */
    public static final String DESTINATION = "/dev/shm/local";
}
