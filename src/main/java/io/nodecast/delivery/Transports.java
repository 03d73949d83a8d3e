package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import io.nodecast.core.Hosts;
import io.nodecast.posix.Sys;
import io.nodecast.transport.BroadcastAlgorithm;
import io.nodecast.transport.LocalTransport;
import io.nodecast.transport.NodeTransport;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;
import io.nodecast.transport.World;
import io.nodecast.transport.mpi.MpiTransport;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Chooses the transport: the job's MPI when an MPI launcher started us with ranks on more than one node; without MPI
 * when the launcher says the whole world is on this node: one rank alone ({@code mpirun -np 1} has nobody to send
 * to), or several that only need to wait for rank 0 ({@link NodeTransport}). {@code --transport mpi} starts MPI all
 * the same. It lives above the transports so that {@code transport} and {@code transport.mpi} need not know
 * each other.
 */
public final class Transports {
    public enum Choice { AUTO, MPI, LOCAL }

    /**
     * @param mpiLibrary an explicit MPI library (path or soname)
     * @param chunkBytes the largest piece of a stream
     * @param algorithm  how the leaders broadcast
     * @param stall      how long a leader waits on a silent peer in a stream
     */
    public record Settings(Choice choice, Optional<String> mpiLibrary, int chunkBytes, BroadcastAlgorithm algorithm, Duration stall) {
        /** What commands that stream nothing (purge) need. */
        public static Settings minimal() {
            return new Settings(Choice.AUTO, Optional.empty(), 1 << 16, BroadcastAlgorithm.AUTO, DEFAULT_STALL);
        }
    }

    /** A peer silent this long in a stream has stopped or died; an unpacker is never held up that long by one chunk. */
    public static final Duration DEFAULT_STALL = Duration.ofSeconds(60);

    private Transports() {}

    /**
     * @param arguments the command's arguments, the same on every rank of a step: ranks of one node meet under them,
     *                  so that two commands of one step meet apart
     */
    public static Transport open(Settings s, Map<String, String> env, List<String> arguments) {
        // the JVM takes 0.05 s to make the system-call handle; the first file call would wait for it (the unpacker's,
        // before its first member, with the other core idle: BENCHMARKS.md section 8)
        Thread.ofPlatform().daemon().name("nodecast-link").start(Sys::link);
        // the launcher's variables (and for hydra the parent process) are read only when they decide something
        return switch (s.choice()) {
            case LOCAL -> new LocalTransport(s.chunkBytes());
            case MPI -> mpi(s, World.of(env), env);
            case AUTO -> {
                World world = World.of(env);
                if (!world.launched()) yield new LocalTransport(s.chunkBytes());
                if (world.alone()) yield new LocalTransport(Topology.single(Hosts.localName()), s.chunkBytes(),
                        "local (a one-rank MPI world: MPI not started)");
                if (world.sharesOneNode()) yield NodeTransport.open(world, NodeTransport.defaultDirectory(), arguments, s.chunkBytes(), s.stall());
                yield mpi(s, world, env);
            }
        };
    }

    /**
     * How long rank 0, refusing the command line, waits for the others to be there before it writes (then it removes
     * the file at once, which Open MPI's mpirun, ending the others as rank 0 exits, would otherwise leave behind), and
     * how long a waiting JVM that refused it too looks for that word.
     */
    private static final Duration REFUSAL_WAIT = Duration.ofSeconds(5);

    /**
     * A command line refused before the step's transport opened (every rank refuses it alike). On a one-node step rank
     * 0 still leaves its refusal as the step's word: a rank that waits in bin/nodecast,
     * in the shell, parses nothing and would otherwise wait --stall-timeout for a file that never comes (MPICH's
     * mpiexec and srun do not end it when rank 0 exits with an error). A waiting JVM, which refused the line itself,
     * reads the word all the same, so that the last reader removes the file. Best effort: the refusal itself is what
     * the user reads.
     *
     * @param arguments the command's arguments, as the ranks meet under them
     */
    public static void refused(Map<String, String> env, List<String> arguments, String message) {
        try {
            World world = World.of(env);
            if (!world.sharesOneNode()) return;
            try (NodeTransport t = NodeTransport.open(world, NodeTransport.defaultDirectory(), arguments, 1 << 16, REFUSAL_WAIT)) {
                // rank 0's failure is the step's verdict; the others' are not counted (Agreement)
                Agreement.reach(t, Optional.of(new NodeFailure(t.topology().host(), t.topology().rank(), ExitCode.USAGE, message)));
            }
        } catch (RuntimeException e) {
            // rank 0 gone, or no place to meet: the waiting ranks give up after --stall-timeout, as before
        }
    }

    private static Transport mpi(Settings s, World world, Map<String, String> env) {
        // MPI_Init mostly waits for the launcher and the other hosts. What a broadcast member would otherwise do
        // for the first time in the stream's first segments, delaying every hop after it, fits in that wait:
        // compiling SHA-256. Not on a rank that will only wait, which never hashes (and, started by bin/nodecast
        // without the JIT, took 2 s of CPU to hash the 8 MiB)
        if (!world.waitsOnItsNode()) Thread.ofPlatform().daemon().name("nodecast-prepare").start(Checksum::warm);
        return MpiTransport.start(new MpiTransport.Options(s.mpiLibrary(), s.chunkBytes(), s.algorithm(), s.stall()), world, env);
    }
}
