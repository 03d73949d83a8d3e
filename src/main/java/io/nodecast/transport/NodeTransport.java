package io.nodecast.transport;

import io.nodecast.core.ExitCode;
import io.nodecast.core.Hosts;
import io.nodecast.core.NodecastException;
import io.nodecast.posix.Identity;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * Several ranks of a step, all on one node, without MPI. Rank 0 is the node's leader and does everything as
 * {@link LocalTransport} does; the other ranks only wait for its last word, which is the one collective that spans
 * every rank ({@link #shareWithAll}). They meet in a small file on node-local storage, named after the step:
 * <ol>
 * <li>rank 0 creates the file under another name, takes an exclusive lock on it and only then renames it into
 *     place, so whoever finds the file finds it locked;</li>
 * <li>the others wait for the file to appear (at most the stall time), then for its lock: asleep in the kernel,
 *     not holding a core the unpacking needs;</li>
 * <li>rank 0 writes its word and lets go; the lock also goes when rank 0 dies, however it dies, and a file without
 *     a word then fails the others;</li>
 * <li>each of the others, in turn under the lock, reads the word and appends a byte; the last one removes the file.</li>
 * </ol>
 * A rank killed before it read leaves the file behind: rank 0 of a later step removes this user's files that are a
 * day old and locked by nobody.
 * Starting MPI costs each rank about half a second here (more on a real fabric) and buys nothing on one node.
 */
public final class NodeTransport implements Transport {
    /** What precedes rank 0's word in the file; the others' acknowledgements follow it. */
    private static final byte[] MAGIC = "nodecast-step-1\n".getBytes(StandardCharsets.US_ASCII);
    private static final long POLL_MILLIS = 10;
    /** A meeting file this old, and unlocked, belongs to a step long over. */
    static final Duration STALE = Duration.ofDays(1);

    private final LocalTransport node;
    private final Topology topology;
    private final Path file;
    private final Duration wait;
    /** The step's user: the file must be theirs. */
    private final int uid;
    /** Rank 0: the open file and its lock, until its word is written. */
    private FileChannel channel;

    private NodeTransport(LocalTransport node, Path file, Duration wait, int uid, FileChannel channel) {
        this.node = node;
        this.topology = node.topology();
        this.file = file;
        this.wait = wait;
        this.uid = uid;
        this.channel = channel;
    }

    /**
     * @param world a world that {@link World#sharesOneNode() shares one node}
     * @param dir   node-local storage that every rank of the step sees alike
     * @param wait  how long the other ranks wait for rank 0 to appear
     */
    public static NodeTransport open(World world, Path dir, int chunkBytes, Duration wait) {
        if (!world.sharesOneNode()) throw new IllegalArgumentException("not a one-node world: " + world);
        String host = Hosts.localName();
        int rank = world.rank().getAsInt();
        Topology topo = new Topology(rank, world.size().getAsInt(), 0, 1, rank == 0, host);
        int uid = Identity.current().uid();
        String mine = "nodecast-" + uid + "-";
        Path file = dir.resolve(mine + world.step().get().replaceAll("[^A-Za-z0-9._-]", "_") + "-" + command());
        FileChannel channel = null;
        if (rank == 0) {
            sweep(dir, mine);
            channel = create(file, host);
        }
        return new NodeTransport(new LocalTransport(topo, chunkBytes, "local"), file, wait, uid, channel);
    }

    /**
     * This command line, digested: two nodecast commands in one launcher step ({@code srun sh -c 'nodecast bcast A;
     * nodecast mirror B'}) must not meet in one file, where a rank still in the first could read rank 0's word on the
     * second.
     */
    private static String command() {
        String args = ProcessHandle.current().info().arguments().map(a -> String.join("\0", a)).orElse("");
        return HexFormat.of().toHexDigits(args.hashCode());
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
    private static void sweep(Path dir, String mine) {
        Instant before = Instant.now().minus(STALE);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, mine + "*")) {
            for (Path f : files) {
                try {
                    if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)
                            || !Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(before)) continue;
                    try (FileChannel c = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                        FileLock l = c.tryLock();
                        if (l != null) Files.deleteIfExists(f);
                    }
                } catch (IOException | RuntimeException ignored) {
                    // someone else's business, or gone already
                }
            }
        } catch (IOException ignored) {
            // the step does not depend on it
        }
    }

    private static FileChannel create(Path file, String host) {
        Path fresh = file.resolveSibling(file.getFileName() + "." + ProcessHandle.current().pid() + ".new");
        FileChannel ch = null;
        try {
            Files.deleteIfExists(fresh);
            ch = FileChannel.open(fresh, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            ch.lock();
            Files.move(fresh, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return ch;
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            try {
                Files.deleteIfExists(fresh);
            } catch (IOException ignored) {
                // the message below is what matters
            }
            String why = e instanceof AtomicMoveNotSupportedException ? "no atomic rename there" : e.getMessage();
            throw new NodecastException(ExitCode.DESTINATION, host + ": cannot create " + file
                    + ", where the ranks of a one-node step meet: " + why + " (--transport mpi meets in MPI instead)", e);
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

    /** Rank 0: its word into the file, then the lock released, which wakes the others. */
    private void speak(byte[] data) {
        if (channel == null) throw new IllegalStateException("rank 0 has already spoken");
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + Integer.BYTES + data.length).put(MAGIC).putInt(data.length).put(data).flip();
        try {
            while (b.hasRemaining()) channel.write(b, b.position());
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, topology.host() + ": cannot write " + file
                    + " for the other ranks of this node: " + e.getMessage(), e);
        } finally {
            closeQuietly(channel);
            channel = null;
        }
    }

    /** The other ranks: wait for rank 0's file, then for its lock; read its word; the last one removes the file. */
    private byte[] listen(int maxBytes) {
        long deadline = System.nanoTime() + wait.toNanos();
        FileChannel ch = null;
        while (ch == null) {
            try {
                ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                if (System.nanoTime() > deadline) {
                    throw new NodecastException(ExitCode.REMOTE, topology.host() + ": rank 0 did not start this step within "
                            + wait.toSeconds() + " s (the other ranks of a one-node step wait for it at " + file + ")");
                }
                sleep();
            } catch (IOException e) {
                throw new NodecastException(ExitCode.REMOTE, topology.host() + ": cannot open " + file + ", where rank 0 "
                        + "tells the other ranks of this node how the step ended: " + e.getMessage(), e);
            }
        }
        try (FileChannel c = ch) {
            int owner = (Integer) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            if (owner != uid) {
                throw new NodecastException(ExitCode.REMOTE, topology.host() + ": " + file + " belongs to uid " + owner
                        + ", not to this job's user: someone else's file stands where the ranks of this step meet");
            }
            // exclusive among the others too: each reads, appends its byte and counts, one after the other
            FileLock lock = c.lock();
            byte[] word = null;
            try {
                word = read(c, maxBytes);
                return word;
            } finally {
                // also when rank 0 left no word: the file goes with the last of the others either way
                c.write(ByteBuffer.wrap(new byte[] {1}), c.size());
                long record = word == null ? 0 : MAGIC.length + Integer.BYTES + word.length;
                if (c.size() - record >= topology.size() - 1) Files.deleteIfExists(file);
                lock.release();
            }
        } catch (IOException e) {
            throw new NodecastException(ExitCode.REMOTE, topology.host() + ": cannot read " + file + ", where rank 0 "
                    + "tells the other ranks of this node how the step ended: " + e.getMessage(), e);
        }
    }

    private byte[] read(FileChannel c, int maxBytes) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(MAGIC.length + Integer.BYTES);
        while (head.hasRemaining() && c.read(head, head.position()) > 0) { /* until full or at the end */ }
        head.flip();
        byte[] magic = new byte[Math.min(MAGIC.length, head.remaining())];
        head.get(magic);
        int length = head.remaining() == Integer.BYTES ? head.getInt() : -1;
        if (!Arrays.equals(magic, MAGIC) || length < 0 || length > maxBytes) {
            throw new NodecastException(ExitCode.REMOTE, topology.host() + ": rank 0 ended without telling the other ranks "
                    + "of this node how the step ended (it died or was killed: its own messages and the launcher's say why)");
        }
        ByteBuffer data = ByteBuffer.allocate(length);
        while (data.hasRemaining() && c.read(data, MAGIC.length + Integer.BYTES + data.position()) > 0) { /* until full */ }
        if (data.hasRemaining()) {
            throw new NodecastException(ExitCode.REMOTE, topology.host() + ": rank 0's word to the other ranks of this node "
                    + "in " + file + " is cut short: it died while writing it");
        }
        return data.array();
    }

    private static void sleep() {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.REMOTE, "interrupted while waiting for rank 0");
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException ignored) {
            // the lock goes with the descriptor either way
        }
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
        if (channel != null) {
            // rank 0 leaving without its word (an exception on the way): the others must not wait for it
            closeQuietly(channel);
            channel = null;
        }
    }
}
