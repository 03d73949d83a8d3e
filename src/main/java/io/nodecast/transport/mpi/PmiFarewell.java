package io.nodecast.transport.mpi;

import io.nodecast.posix.PosixException;
import io.nodecast.posix.Sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/**
 * Tells the process manager that a rank leaving without {@code MPI_Finalize} has finished, over the PMI-1 wire
 * the MPI library opened ({@code PMI_FD}): {@code cmd=finalize}, answered by {@code cmd=finalize_ack}.
 *
 * <p>Without it hydra's proxy reads the PMI socket's close as a crash whenever it sees the close before the
 * exit: it records exit code 1 for the rank and ends the job ("BAD TERMINATION ... EXIT CODE: 1", then
 * {@code assert (!closed) failed} on the other proxies), 2 runs in 25 on the test bed. Slurm's PMI
 * server speaks the same wire.
 */
record PmiFarewell(int fd) {
    /** How long the manager has to answer; a manager that does not is left to see the exit instead. */
    private static final long ANSWER_MILLIS = 5_000;

    /** The PMI-1 connection the launcher gave this process, if it gave one (PMIx and singletons give none). */
    static Optional<PmiFarewell> of(Map<String, String> env) {
        String fd = env.get("PMI_FD");
        if (fd == null || "2".equals(env.get("MPIR_CVAR_PMI_VERSION"))) return Optional.empty();
        try {
            return Optional.of(new PmiFarewell(Integer.parseInt(fd.strip())));
        } catch (NumberFormatException notOurs) {
            return Optional.empty();
        }
    }

    /**
     * Sends {@code cmd=finalize} and waits for the answer.
     * @return what went wrong, empty when the manager acknowledged
     */
    Optional<String> say() {
        try (Sys sys = new Sys(); Arena arena = Arena.ofConfined()) {
            MemorySegment ask = arena.allocateFrom(ValueLayout.JAVA_BYTE, "cmd=finalize\n".getBytes(StandardCharsets.US_ASCII));
            sys.writeFully(fd, ask, ask.byteSize());
            MemorySegment in = arena.allocate(256);
            StringBuilder answer = new StringBuilder();
            long deadline = System.nanoTime() + ANSWER_MILLIS * 1_000_000;
            while (answer.indexOf("\n") < 0) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0 || !sys.awaitReadable(fd, left)) return Optional.of("no answer to cmd=finalize within " + ANSWER_MILLIS + " ms");
                long n = sys.read(fd, in, in.byteSize());
                if (n == 0) return Optional.of("the process manager closed PMI_FD before it answered cmd=finalize");
                answer.append(new String(in.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
            }
            String line = answer.substring(0, answer.indexOf("\n"));
            return line.startsWith("cmd=finalize_ack") ? Optional.empty() : Optional.of("cmd=finalize answered with " + line);
        } catch (PosixException e) {
            return Optional.of("PMI_FD " + fd + ": " + e.getMessage());
        }
    }
}
