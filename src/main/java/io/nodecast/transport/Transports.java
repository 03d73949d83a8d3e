package io.nodecast.transport;

import io.nodecast.transport.mpi.MpiLibrary;
import io.nodecast.transport.mpi.MpiTransport;

import java.util.Map;
import java.util.Optional;

/** Chooses the transport: the job's MPI when an MPI launcher started us, this node alone otherwise. */
public final class Transports {
    public enum Choice { AUTO, MPI, LOCAL }

    private Transports() {}

    public static Transport open(Choice choice, Optional<String> mpiLibrary, int chunkBytes, Map<String, String> env) {
        boolean mpi = switch (choice) {
            case MPI -> true;
            case LOCAL -> false;
            case AUTO -> MpiLibrary.launchedByMpi(env);
        };
        return mpi ? MpiTransport.start(mpiLibrary, chunkBytes, env) : new LocalTransport(chunkBytes);
    }
}
