package io.nodecast.transport.mpi;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which MPI library to load, told by the launcher's environment: the library must be the one the launcher
 * belongs to, or every rank comes up alone in a world of one.
 */
public final class MpiLibrary {
    static final String OPEN_MPI = "libmpi.so.40";
    static final List<String> MPICH = List.of("libmpich.so.12", "libmpi.so.12");

    private MpiLibrary() {}

    /** Library names to try, best first. */
    static List<String> candidates(Optional<String> override, Map<String, String> env) {
        if (override.isPresent()) return List.of(override.get());
        String fromEnv = env.getOrDefault("NODECAST_MPI_LIB", "");
        if (!fromEnv.isBlank()) return List.of(fromEnv);
        LinkedHashSet<String> out = new LinkedHashSet<>();
        if (env.containsKey("OMPI_COMM_WORLD_SIZE") || env.containsKey("PMIX_RANK")) out.add(OPEN_MPI);
        if (env.containsKey("PMI_RANK") || env.containsKey("PMI_FD") || env.containsKey("PMI_SIZE")) out.addAll(MPICH);
        out.add(OPEN_MPI);
        out.addAll(MPICH);
        return new ArrayList<>(out);
    }

    /** Opens the first candidate that loads; names every failure if none does. */
    static Native open(List<String> candidates) {
        // UCX (loaded with MPICH's library, or by Open MPI's UCX layer at init) would take the JVM's SIGSEGV
        // handler, which the JVM needs for its own null checks: the process would die at the first one
        Native.setenvIfAbsent("UCX_HANDLE_ERRORS", "none");
        Native.setenvIfAbsent("UCX_ERROR_SIGNALS", "");
        List<String> why = new ArrayList<>();
        for (String c : candidates) {
            Native.Result r = Native.open(c);
            if (r.lib() != null) return r.lib();
            why.add(c + ": " + r.error());
        }
        throw new NodecastException(ExitCode.MPI, "no MPI library could be loaded (" + String.join("; ", why)
                + "); name the job's library with --mpi-lib or NODECAST_MPI_LIB");
    }
}
