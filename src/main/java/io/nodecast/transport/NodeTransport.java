package io.nodecast.transport;

import io.nodecast.core.ExitCode;
import io.nodecast.core.Hosts;
import io.nodecast.core.NodecastException;
import io.nodecast.posix.Errno;
import io.nodecast.posix.Identity;
import io.nodecast.posix.Names;
import io.nodecast.posix.PosixException;
import io.nodecast.posix.Sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;

/**
 * Several ranks of a step, all on one node, without MPI. Rank 0 is the node's leader and does everything as
 * {@link LocalTransport} does; the other ranks only wait for its last word, which is the one collective that spans
 * every rank ({@link #shareWithAll}). They meet in a small file on node-local storage, named after the step:
 * <ol>
 * <li>rank 0 creates the file under another name, takes an exclusive lock on it and only then renames it into
 *     place, so whoever finds the file finds it locked;</li>
 * <li>the others wait for the file to appear (at most the stall time), append a byte to say they are there, then
 *     wait for its lock: asleep in the kernel, not holding a core the unpacking needs;</li>
 * <li>rank 0, to speak, waits until all the others are there (at most the stall time), appends its word and, if
 *     they are all there, removes the file, which they read through their descriptors; then it lets go of the lock.
 *     The lock also goes when rank 0 dies, however it dies, and a file without a word then fails the others;</li>
 * <li>each of the others, in turn under the lock, reads the word; if the file is still there (someone came late),
 *     it appends an acknowledgement and the last one removes the file.</li>
 * </ol>
 * Rank 0 waits for the others because a launcher ends them all as soon as one rank fails: rank 0 failing in its first
 * second (a corrupt bundle) and leaving before the others had found the file would leave the file behind.
 * A rank killed before it read leaves the file behind too: rank 0 of a later step removes this user's files that are
 * a day old and locked by nobody.
 * Starting MPI costs each rank about half a second here (more on a real fabric) and buys nothing on one node.
 * <p>
 * bin/nodecast plays the others' part itself, in bash, without starting a JVM (its functions {@code wait_place} and
 * {@code wait_here}), wherever it can judge the step as surely as {@link World} does; {@link #listen} is for the rest.
 * A change to the file's name or contents changes both: OneNodeStepTest runs its hand-started cases with both, and
 * checks that both name the file alike.
 */
public final class NodeTransport implements Transport {
    /** What precedes rank 0's word in the file; the others' arrivals come before it, their acknowledgements after. */
    private static final byte[] MAGIC = "nodecast-step-1\n".getBytes(StandardCharsets.US_ASCII);
    private static final ValueLayout.OfInt BIG_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int HEAD = MAGIC.length + Integer.BYTES;
    private static final long POLL_MILLIS = 10;
    private static final byte ARRIVED = 1, READ = 2;
    /** A meeting file this old, and unlocked, belongs to a step long over. */
    static final Duration STALE = Duration.ofDays(1);

    private final LocalTransport node;
    private final Topology topology;
    private final Path file;
    private final Duration wait;
    /** The step's user: the file must be theirs. */
    private final int uid;
    /** Rank 0: the open file, which holds its lock, until its word is written; -1 after. */
    private int fd;

    private NodeTransport(LocalTransport node, Path file, Duration wait, int uid, int fd) {
        this.node = node;
        this.topology = node.topology();
        this.file = file;
        this.wait = wait;
        this.uid = uid;
        this.fd = fd;
    }

    /**
     * @param world     a world that {@link World#sharesOneNode() shares one node}
     * @param dir       node-local storage that every rank of the step sees alike
     * @param arguments the command's arguments (not the JVM's, which a rank's wrapper may change)
     * @param wait      how long the other ranks wait for rank 0 to appear
     */
    public static NodeTransport open(World world, Path dir, List<String> arguments, int chunkBytes, Duration wait) {
        if (!world.sharesOneNode()) throw new IllegalArgumentException("not a one-node world: " + world);
        String host = Hosts.localName();
        int rank = world.rank().getAsInt();
        Topology topo = new Topology(rank, world.size().getAsInt(), 0, 1, rank == 0, host);
        int uid = Identity.current().uid();
        Path file = place(world, dir, arguments, uid);
        int fd = -1;
        if (rank == 0) {
            sweep(dir, prefix(uid), uid);
            fd = create(file, host);
        }
        return new NodeTransport(new LocalTransport(topo, chunkBytes, "local"), file, wait, uid, fd);
    }

    /**
     * Where the ranks of this step meet: {@code nodecast-UID-STEP-DIGEST} in {@code dir}. bin/nodecast names it the
     * same way, so that a rank that only waits can wait in the shell, without a JVM (its function {@code wait_place}).
     */
    static Path place(World world, Path dir, List<String> arguments, int uid) {
        return dir.toAbsolutePath().resolve(prefix(uid) + world.step().orElseThrow().replaceAll("[^A-Za-z0-9._-]", "_")
                + "-" + digest(arguments));
    }

    private static String prefix(int uid) {
        return "nodecast-" + uid + "-";
    }

    /**
     * The command's arguments, digested: two nodecast commands in one launcher step ({@code srun sh -c 'nodecast bcast A;
     * nodecast mirror B'}) must not meet in one file, where a rank still in the first could read rank 0's word on the
     * second. Not the process's whole command line: ranks started with other JVM options would never meet.
     * 32-bit FNV-1a over their UTF-8, each followed by a 0 byte: a digest bash computes with its own arithmetic.
     */
    private static String digest(List<String> arguments) {
        int h = 0x811c9dc5;
        for (String a : arguments) {
            for (byte b : a.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xff)) * 0x01000193;
            h *= 0x01000193;   // the 0 byte after each
        }
        return HexFormat.of().toHexDigits(h);
    }

    /** Where the ranks of a one-node step meet: node-local memory, or the temporary directory without it. */
    public static Path defaultDirectory() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * Removes this user's meeting files that a rank killed before reading left behind: older than {@link #STALE}
     * and locked by nobody. Best effort; a file it cannot judge stays.
     */
    private static void sweep(Path dir, String mine, int uid) {
        long before = Instant.now().minus(STALE).getEpochSecond();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, mine + "*"); Sys sys = new Sys()) {
            for (Path f : files) {
                byte[] name = Names.bytes(f.toAbsolutePath().toString());
                int fd = -1;
                try {
                    fd = sys.openat(Sys.AT_FDCWD, name, Sys.O_RDWR | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
                    Sys.Stat st = sys.fstat(fd);
                    if (st.isRegular() && st.uid() == uid && st.mtimeSeconds() < before && sys.lockExclusive(fd, false)) {
                        sys.unlinkat(Sys.AT_FDCWD, name, 0);
                    }
                } catch (PosixException ignored) {
                    // someone else's business, or gone already
                } finally {
                    sys.closeQuietly(fd);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // the step does not depend on it
        }
    }

    /** Rank 0's file, created locked under another name and then renamed into place; returns its descriptor. */
    private static int create(Path file, String host) {
        byte[] fresh = Names.bytes(file + "." + ProcessHandle.current().pid() + ".new");
        int fd = -1;
        try (Sys sys = new Sys()) {
            try {
                sys.unlinkat(Sys.AT_FDCWD, fresh, 0);
            } catch (PosixException e) {
                if (!e.is(Errno.ENOENT)) throw e;
            }
            try {
                fd = sys.openat(Sys.AT_FDCWD, fresh, Sys.O_RDWR | Sys.O_APPEND | Sys.O_CREAT | Sys.O_EXCL | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0600);
                sys.lockExclusive(fd, true);
                sys.renameat(Sys.AT_FDCWD, fresh, Sys.AT_FDCWD, Names.bytes(file.toString()));
                return fd;
            } catch (PosixException e) {
                sys.closeQuietly(fd);
                if (fd >= 0) {
                    try {
                        sys.unlinkat(Sys.AT_FDCWD, fresh, 0);
                    } catch (PosixException ignored) {
                        // the message below is what matters
                    }
                }
                throw e;
            }
        } catch (PosixException e) {
            throw new NodecastException(ExitCode.DESTINATION, host + ": cannot create " + file
                    + ", where the ranks of a one-node step meet: " + e.getMessage() + " (--transport mpi meets in MPI instead)", e);
        }
    }

    @Override
    public Topology topology() {
        return topology;
    }

    @Override
    public List<String> leaderHosts() {
        return node.leaderHosts();
    }

    @Override
    public byte[] shareFromRoot(byte[] rootData) {
        return node.shareFromRoot(rootData);
    }

    @Override
    public byte[] gatherFromLeaders(byte[] record, int recordBytes) {
        return node.gatherFromLeaders(record, recordBytes);
    }

    @Override
    public double[] maxOverLeaders(double[] values) {
        return node.maxOverLeaders(values);
    }

    @Override
    public long[] sumOverLeaders(long[] values) {
        return node.sumOverLeaders(values);
    }

    @Override
    public String stream(BitSet receivers, long totalBytes, ChunkSource source, ChunkSink sink) throws IOException {
        return node.stream(receivers, totalBytes, source, sink);
    }

    @Override
    public byte[] shareWithAll(byte[] rootData, int maxBytes) {
        if (topology.root()) {
            speak(rootData);
            return rootData;
        }
        return listen(maxBytes);
    }

    /**
     * Rank 0: once the others are all there, its word at the end of the file and the file removed; then the lock
     * released, which wakes them.
     */
    private void speak(byte[] data) {
        if (fd < 0) throw new IllegalStateException("rank 0 has already spoken");
        try (Sys sys = new Sys(); Arena arena = Arena.ofConfined()) {
            boolean all = awaitOthers(sys);
            MemorySegment word = arena.allocate(HEAD + data.length);
            MemorySegment.copy(MAGIC, 0, word, ValueLayout.JAVA_BYTE, 0, MAGIC.length);
            word.set(BIG_INT, MAGIC.length, data.length);
            MemorySegment.copy(data, 0, word, ValueLayout.JAVA_BYTE, HEAD, data.length);
            sys.writeFully(fd, word, word.byteSize());   // appended: a late rank's arrival may come before or after it
            if (all) sys.unlinkat(Sys.AT_FDCWD, Names.bytes(file.toString()), 0);
        } catch (PosixException e) {
            throw new NodecastException(ExitCode.DESTINATION, topology.host() + ": cannot write " + file
                    + " for the other ranks of this node: " + e.getMessage(), e);
        } finally {
            closeFile();
        }
    }

    /** Until every other rank has appended its arrival (the file holds nothing else yet), or the stall time is over. */
    private boolean awaitOthers(Sys sys) throws PosixException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (sys.fstat(fd).size() < topology.size() - 1) {
            if (System.nanoTime() > deadline) return false;
            sleep("the other ranks of this node");
        }
        return true;
    }

    /**
     * The other ranks: wait for rank 0's file, say they are there, wait for its lock and read its word.
     * Owner and type are checked on the open descriptor, so the file judged is the file read.
     */
    private byte[] listen(int maxBytes) {
        byte[] path = Names.bytes(file.toString());
        long deadline = System.nanoTime() + wait.toNanos();
        try (Sys sys = new Sys()) {
            int fd = -1;
            while (fd < 0) {
                try {
                    fd = sys.openat(Sys.AT_FDCWD, path, Sys.O_RDWR | Sys.O_APPEND | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
                } catch (PosixException e) {
                    if (!e.is(Errno.ENOENT)) throw e;
                    if (System.nanoTime() > deadline) {
                        throw new NodecastException(ExitCode.REMOTE, topology.host() + ": rank 0 did not start this step within "
                                + wait.toSeconds() + " s (the other ranks of a one-node step wait for it at " + file + ")");
                    }
                    sleep("rank 0");
                }
            }
            try {
                Sys.Stat st = sys.fstat(fd);
                if (st.uid() != uid || !st.isRegular()) {
                    throw new NodecastException(ExitCode.REMOTE, topology.host() + ": " + file + " belongs to uid " + st.uid()
                            + (st.isRegular() ? "" : " and is not a regular file") + ", not to this job's user: someone else's "
                            + "file stands where the ranks of this step meet");
                }
                try (Arena arena = Arena.ofConfined()) {
                    sys.writeFully(fd, arena.allocate(1).fill(ARRIVED), 1);
                }
                // exclusive among the others too: each reads, appends its byte and counts, one after the other
                sys.lockExclusive(fd, true);
                return readAndAcknowledge(sys, fd, path, maxBytes);
            } finally {
                sys.closeQuietly(fd);   // and with it the lock
            }
        } catch (PosixException e) {
            throw new NodecastException(ExitCode.REMOTE, topology.host() + ": cannot read " + file + ", where rank 0 "
                    + "tells the other ranks of this node how the step ended: " + e.getMessage(), e);
        }
    }

    /**
     * Under the lock: rank 0's word, after the arrivals that came before it; then, if rank 0 left the file for a late
     * rank, this rank's acknowledgement, and the last of the others removes the file.
     */
    private byte[] readAndAcknowledge(Sys sys, int fd, byte[] path, int maxBytes) throws PosixException {
        Sys.Stat st = sys.fstat(fd);
        long size = st.size();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(Math.max(size, 1));
            long got = 0;
            for (long n; got < size && (n = sys.pread(fd, all.asSlice(got), size - got, got)) > 0; ) got += n;
            long at = 0;
            while (at < got && all.get(ValueLayout.JAVA_BYTE, at) == ARRIVED) at++;
            int length = got - at >= HEAD && Arrays.equals(all.asSlice(at, MAGIC.length).toArray(ValueLayout.JAVA_BYTE), MAGIC)
                    ? all.get(BIG_INT, at + MAGIC.length) : -1;
            boolean whole = length >= 0 && at + HEAD + (long) length <= got;
            if (st.nlink() > 0) {
                // also when rank 0 left no word: the file goes with the last of the others either way
                sys.writeFully(fd, arena.allocate(1).fill(READ), 1);
                long read = 1;
                for (long i = whole ? at + HEAD + length : at; i < got; i++) if (all.get(ValueLayout.JAVA_BYTE, i) == READ) read++;
                if (read >= topology.size() - 1) sys.unlinkat(Sys.AT_FDCWD, path, 0);
            }
            if (length < 0 || length > maxBytes) {
                throw new NodecastException(ExitCode.REMOTE, topology.host() + ": rank 0 ended without telling the other ranks "
                        + "of this node how the step ended (it died or was killed: its own messages and the launcher's say why)");
            }
            if (!whole) {
                throw new NodecastException(ExitCode.REMOTE, topology.host() + ": rank 0's word to the other ranks of this node "
                        + "in " + file + " is cut short: it died while writing it");
            }
            return all.asSlice(at + HEAD, length).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** @param forWhom who is waited for, for the message if the wait is interrupted */
    private static void sleep(String forWhom) {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.REMOTE, "interrupted while waiting for " + forWhom);
        }
    }

    private void closeFile() {
        if (fd < 0) return;
        try (Sys sys = new Sys()) {
            sys.closeQuietly(fd);   // the lock goes with the descriptor
        }
        fd = -1;
    }

    @Override
    public void abort(NodecastException why) {
        node.abort(why);   // the lock goes with the process: the others learn that rank 0 ended without a word
    }

    @Override
    public String describe() {
        return "node (" + topology.size() + " ranks on one node: MPI not started)";
    }

    @Override
    public void close() {
        // rank 0 leaving without its word (an exception on the way): the others must not wait for it
        closeFile();
    }
}
