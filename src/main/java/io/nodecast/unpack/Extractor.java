package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.format.BadArchiveException;
import io.nodecast.format.Block;
import io.nodecast.format.BlockPool;
import io.nodecast.format.BlockSource;
import io.nodecast.format.ChunkInput;
import io.nodecast.format.Decompression;
import io.nodecast.format.TarEntry;
import io.nodecast.format.TarReader;
import io.nodecast.posix.Errno;
import io.nodecast.posix.PosixException;
import io.nodecast.posix.Sys;
import io.nodecast.relocate.DestFiles;
import io.nodecast.relocate.Manifest;
import io.nodecast.relocate.Relocation;
import io.nodecast.relocate.Relocator;
import io.nodecast.relocate.Rewrite;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Unpacks one bundle stream into a {@link Destination}: decompression on one thread, parsing and every change to
 * the directory tree on the calling thread (in archive order, through {@link Containment}), file data written by
 * a pool of writer threads straight from the decompressed blocks, or by the calling thread itself when the pool is
 * empty (the default on two cores or fewer).
 *
 * <p>Names are created in archive order by one thread, so a later member replaces an earlier one exactly as in a
 * sequential unpack; the writers only fill files that thread created and opened. Any failure on any thread —
 * an {@link Error} included — stops every thread, and {@link #extract} throws one {@link NodecastException}
 * that names the bundle and the member; there is no partial success.
 */
public final class Extractor {

    /** The first member of a bundle, if it has this name, is nodecast's description of it, not a file to unpack. */
    public static final String MANIFEST = ".nodecast-bundle";
    private static final int MANIFEST_MAX = 16 << 20;
    private static final int BLOCK_SIZE = 1 << 20, SLICE = 1 << 20;

    /**
     * @param writers      threads writing file data; 0: the thread that parses writes it too
     * @param maxTarBytes  the most tar stream a bundle may expand to; 0 for no limit
     * @param verbose      where -v lines go (warnings about members read differently); may ignore them
     * @param useOpenat2   false forces the O_NOFOLLOW walk of older kernels
     */
    public record Options(int writers, long maxTarBytes, Consumer<String> verbose, boolean useOpenat2) {
        public static Options defaults() {
            return new Options(defaultWriters(), 0, s -> { }, true);
        }

        /**
         * What the CPU affinity (and a cgroup quota) allows, less one for the decompressing thread, at most 8; none on two
         * cores or fewer, where a hand-off for every piece of every file cost more than the thread brought: the parsing
         * thread writing the data itself took 7% less CPU and no more time (BENCHMARKS.md section 8).
         */
        public static int defaultWriters() {
            int cores = Runtime.getRuntime().availableProcessors();
            return cores <= 2 ? 0 : Math.min(cores - 1, 8);
        }
    }

    private final Destination dest;
    private final Options options;
    private final Set<Containment.Rule> rules;

    public Extractor(Destination dest, Options options) {
        this(dest, options, Containment.ALL);
    }

    /** With some rules off: only the tests that prove each rule matters do this. */
    Extractor(Destination dest, Options options, Set<Containment.Rule> rules) {
        this.dest = dest;
        this.options = options;
        this.rules = rules;
    }

    /**
     * @param raw   the bundle's bytes, in any supported compression (told by content)
     * @param label how messages name the bundle
     */
    public UnpackSummary extract(ChunkInput raw, String label) {
        return new Run(label).run(raw);
    }

    /**
     * Relocates what is already at DEST by the relocation list there: a squashfs image, mounted (its overlay takes the
     * rewritten files) or unpacked by sqfs2tar, whose list is a file of the image rather than the stream's first member.
     * Nothing happens when DEST has no list.
     */
    public void relocateInPlace(String label) {
        try (Sys sys = new Sys(); Containment box = new Containment(dest, sys, rules, options.useOpenat2())) {
            byte[] manifest = box.readFile(box.name(MANIFEST.getBytes(StandardCharsets.US_ASCII)), MANIFEST_MAX);
            if (manifest != null) relocate(box, manifest, label);
        } catch (NodecastException e) {
            throw new NodecastException(e.exitCode(), label + ": " + e.getMessage(), e.getCause());
        } catch (PosixException e) {
            throw new NodecastException(ExitCode.DESTINATION, label + ": cannot relocate in " + dest.root() + ": " + e.reason(), e);
        }
    }

    /**
     * Points the files the relocation list names at DEST, through the same containment as the members; without a list
     * (GNU tar's bundles, an older nodecast's) the files stay as they are, and -v says so.
     */
    private void relocate(Containment box, byte[] manifest, String label) {
        for (String note : Relocator.afterUnpack(Optional.ofNullable(manifest), dest.root(), new ContainedFiles(box)).notes()) {
            options.verbose().accept(label + ": " + note);
        }
    }

    /**
     * How far decompression may run ahead of the writers, in blocks: two for each writer to write from and a few for
     * the parser. Memory touched for the first time is dear (on this machine 4.6 ms a MiB, BENCHMARKS.md section 8),
     * and 24 blocks, all made in every unpacking, cost more CPU than the waits they saved.
     */
    private int blocks() {
        return Math.max(8, 2 * options.writers() + 4);
    }

    /** One extraction: its threads, its failure, its counts. */
    private final class Run {
        final String label;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final AtomicReference<Object> failedAt = new AtomicReference<>();
        final BlockPool pool = new BlockPool(blocks(), BLOCK_SIZE);
        final List<Writer> writers = new ArrayList<>();
        /** The parsing thread's own system calls, for the data it writes when there are no writer threads. */
        Sys own;
        long files, dirs, links, bytes;
        int next;
        /** The bundle's relocation, once its list (the first member) is read; null when it has none. */
        Relocation relocation;
        /** The files the list names, by {@link Containment.EntryPath#key}. */
        Map<String, Manifest.Entry> listed = Map.of();
        byte[] current = new byte[0];

        Run(String label) {
            this.label = label;
        }

        boolean stopped() {
            return failure.get() != null;
        }

        /** @param at the member's name (a String or the raw bytes), shown only if this is the first failure */
        void fail(Throwable t, Object at) {
            if (failure.compareAndSet(null, t)) failedAt.set(at);
        }

        UnpackSummary run(ChunkInput raw) {
            Prefetch prefetch = null;
            byte[] manifest = null;
            try (Sys sys = new Sys(); Containment box = new Containment(dest, sys, rules, options.useOpenat2())) {
                own = sys;
                for (int i = 0; i < options.writers(); i++) writers.add(new Writer(i));
                prefetch = new Prefetch(raw);
                try (TarReader tar = new TarReader(prefetch, TarReader.Limits.DEFAULT, label)) {
                    TarEntry e;
                    boolean first = true;
                    while (!stopped() && (e = tar.next()) != null) {
                        current = tar.currentRawName();
                        if (first && e.type() == TarEntry.Type.FILE && Arrays.equals(e.name(), MANIFEST.getBytes(StandardCharsets.US_ASCII))) {
                            manifest = readManifest(tar, e);
                            startRelocation(box, manifest);
                            first = false;
                            continue;
                        }
                        first = false;
                        member(box, tar, e);
                    }
                    if (!stopped()) tar.drain();   // the decompressor checks the rest of its frame (checksum, truncation)
                    current = new byte[0];
                }
                endWriters();
                if (!stopped()) relocateTheRest(box, manifest);
                if (!stopped()) box.finish();
            } catch (Containment.DirectoryFailure d) {
                fail(d.getCause(), d.name());
            } catch (Throwable t) {
                fail(t, current);
            } finally {
                endWriters();
                if (prefetch != null) prefetch.stop();
            }
            Throwable t = failure.get();
            if (t != null) throw translate(t, failedAt.get());
            return new UnpackSummary(files, dirs, links, bytes, manifest);
        }

        /** Relocation as the files come: the list's paths pass the members' name rules and are matched by key. */
        private void startRelocation(Containment box, byte[] bytes) {
            Manifest m = Manifest.decode(bytes);
            if (m.isEmpty()) return;
            relocation = new Relocation(m, dest.root());
            listed = new HashMap<>();
            for (Manifest.Entry en : m.files()) listed.put(box.name(en.path().getBytes(StandardCharsets.UTF_8)).key(), en);
        }

        /** What the stream did not relocate (a name a later member replaced, a hard link to an unlisted file), from DEST. */
        private void relocateTheRest(Containment box, byte[] manifest) {
            if (relocation == null) {
                relocate(box, manifest, label);
                return;
            }
            for (String note : relocation.finish(new ContainedFiles(box)).notes()) options.verbose().accept(label + ": " + note);
        }

        private void member(Containment box, TarReader tar, TarEntry e) throws IOException, InterruptedException {
            Containment.EntryPath p = box.name(e.name());
            box.checkType(e, p);
            if (e.unknownType()) {
                options.verbose().accept(label + ": '" + p.shown() + "' has the unknown type '" + e.typeFlag()
                        + "', unpacked as a regular file (as GNU tar does)");
            }
            switch (e.type()) {
                case DIRECTORY -> {
                    box.directory(p, box.mode(e.mode()) | 0500, e.mtime(), e.mtimeNano());
                    dirs++;
                }
                case SYMLINK -> {
                    box.symlink(p, e.link(), e.mtime(), e.mtimeNano());
                    links++;
                }
                case HARDLINK -> {
                    box.hardlink(p, box.name(e.link()));
                    links++;
                }
                case FILE -> file(box, tar, e, p, listed.isEmpty() ? null : listed.get(p.key()));
                default -> throw new IllegalStateException("unhandled member type " + e.type());
            }
        }

        /** @param listedAs how the relocation list rewrites this file, or null when it does not name it */
        private void file(Containment box, TarReader tar, TarEntry e, Containment.EntryPath p, Manifest.Entry listedAs)
                throws IOException, InterruptedException {
            int mode = box.mode(e.mode());
            int fd = box.createFile(p, mode);
            files++;
            bytes += e.size();
            // the kernel applied the umask to the mode given at creation; chmod only when that changed it
            int chmod = (mode & ~dest.umask()) == mode ? -1 : mode;
            Close close = new Close(chmod, e.mtime(), e.mtimeNano(), e.isSparse() ? e.realSize() : -1, List.of());
            Relocation.Scan scan = null;
            // a sparse or an oversized one is relocated from DEST afterwards, or refused there with its reason
            if (listedAs != null && !e.isSparse() && e.size() <= Relocator.MAX_FILE_BYTES) {
                if (listedAs.kind() != Manifest.Kind.CSTRING) {
                    rewritten(tar, e, fd, close, p, listedAs);
                    return;
                }
                scan = relocation.binary().orElse(null);
            }
            if (writers.isEmpty()) {
                // this thread writes the pieces as they come, then ends the file, which closes it whatever fails
                boolean pieces = false;
                try {
                    if (e.size() > 0) data(tar, e, fd, null, null, p, scan);
                    close = patched(close, scan, fd);
                    pieces = true;
                } finally {
                    if (!pieces) own.closeQuietly(fd);
                }
                write(own, new Work(fd, null, -1, close, p));
                return;
            }
            Writer w = writers.get(next);
            next = (next + 1) % writers.size();
            if (e.size() == 0) {
                w.put(new Work(fd, null, -1, patched(close, scan, fd), p));
                return;
            }
            try {
                data(tar, e, fd, w, close, p, scan);
            } catch (Throwable t) {
                w.put(new Work(fd, null, -1, close, p));   // the writer closes the file; the failure stands
                throw t;
            }
        }

        /**
         * A script or a text file the relocation list names: its bytes in memory (the bundle writer lists none over
         * {@link Relocator#MAX_FILE_BYTES}), rewritten for DEST and written by this thread, which then ends the file.
         */
        private void rewritten(TarReader tar, TarEntry e, int fd, Close close, Containment.EntryPath p, Manifest.Entry listedAs)
                throws IOException {
            boolean written = false;
            try {
                byte[] content = readAll(tar, (int) e.size());
                Rewrite.Result r = relocation.rewrite(listedAs, content);
                own.write(fd, r instanceof Rewrite.Result.Changed c ? c.bytes() : content, -1);
                relocation.relocated(fileId(fd), r);
                written = true;
            } finally {
                if (!written) own.closeQuietly(fd);
            }
            write(own, new Work(fd, null, -1, close, p));
        }

        /**
         * How a binary the list names ends, once all its bytes were scanned: with its paths written over (by whichever
         * thread ends it, before the file is closed).
         */
        private Close patched(Close close, Relocation.Scan scan, int fd) throws PosixException {
            if (scan == null) return close;
            Rewrite.Result r = scan.result();
            relocation.relocated(fileId(fd), r);
            return r instanceof Rewrite.Result.Patched p ? close.with(p.patches()) : close;
        }

        /** The file behind a descriptor this thread created, as relocation tells files apart. */
        private DestFiles.FileId fileId(int fd) throws PosixException {
            Sys.Stat st = own.fstat(fd);
            return new DestFiles.FileId(st.device(), st.inode());
        }

        /**
         * A file's data, piece by piece, to writer w, or written here when w is null; the last piece carries close.
         * A binary the relocation list names is scanned on the way (scan, or null), and its patches ride with close.
         */
        private void data(TarReader tar, TarEntry e, int fd, Writer w, Close close, Containment.EntryPath p, Relocation.Scan scan)
                throws IOException {
            List<TarEntry.Segment> map = e.sparse();
            int segment = 0;
            long inSegment = 0;
            TarReader.Slice s;
            while ((s = tar.data(SLICE)) != null) {
                if (stopped()) {
                    s.block().release();
                    throw new InterruptedIOException("unpacking stopped");
                }
                if (map.isEmpty()) {
                    if (scan != null) scan.add(s.segment(), s.length());
                    hand(w, new Work(fd, s, -1, tar.dataLeft() == 0 && close != null ? patched(close, scan, fd) : null, p));
                    continue;
                }
                // a sparse file: the stored bytes are the segments' data, one after another
                int done = 0;
                while (done < s.length()) {
                    while (inSegment == map.get(segment).length()) {
                        segment++;
                        inSegment = 0;
                    }
                    TarEntry.Segment seg = map.get(segment);
                    int n = (int) Math.min(s.length() - done, seg.length() - inSegment);
                    s.block().retain();
                    boolean last = tar.dataLeft() == 0 && done + n == s.length();
                    hand(w, new Work(fd, new TarReader.Slice(s.block(), s.offset() + done, n), seg.offset() + inSegment,
                            last ? close : null, p));
                    inSegment += n;
                    done += n;
                }
                s.block().release();
            }
        }

        private void hand(Writer w, Work piece) throws IOException {
            if (w != null) w.put(piece);
            else write(own, piece);
        }

        /** Writes a piece; the last piece of a file also ends it. The file is closed whatever fails. */
        private void write(Sys sys, Work w) throws PosixException {
            Close c = w.close();
            boolean closed = false;
            try {
                try {
                    if (w.slice() != null) {
                        MemorySegment data = w.slice().segment();
                        if (w.offset() < 0) sys.writeFully(w.fd(), data, w.slice().length());
                        else sys.pwriteFully(w.fd(), data, w.slice().length(), w.offset());
                    }
                } finally {
                    release(w);
                }
                if (c == null) return;
                for (Rewrite.Patch patch : c.patches()) sys.write(w.fd(), patch.bytes(), patch.offset());
                if (c.truncate() >= 0) sys.ftruncate(w.fd(), c.truncate());
                if (c.chmod() >= 0) sys.fchmod(w.fd(), c.chmod());
                sys.futimens(w.fd(), c.mtime(), c.nanos());
                closed = true;
                sys.close(w.fd());
            } finally {
                if (c != null && !closed) sys.closeQuietly(w.fd());
            }
        }

        private static void release(Work w) {
            if (w.slice() != null) w.slice().block().release();
        }

        private byte[] readManifest(TarReader tar, TarEntry e) throws IOException {
            if (e.size() > MANIFEST_MAX) {
                throw new BadArchiveException(label + ": its " + MANIFEST + " is " + e.size() + " bytes, over the limit of " + MANIFEST_MAX);
            }
            return readAll(tar, (int) e.size());
        }

        /** The current member's data, all of it, into the heap. */
        private byte[] readAll(TarReader tar, int size) throws IOException {
            byte[] out = new byte[size];
            int at = 0;
            TarReader.Slice s;
            while ((s = tar.data(SLICE)) != null) {
                try {
                    MemorySegment.copy(s.segment(), ValueLayout.JAVA_BYTE, 0, out, at, s.length());
                    at += s.length();
                } finally {
                    s.block().release();
                }
            }
            return out;
        }

        /** Tells every writer to finish what it has and waits for it; idempotent. */
        private void endWriters() {
            for (Writer w : writers) w.end();
            for (Writer w : writers) w.join();
        }

        private NodecastException translate(Throwable t, Object name) {
            String at = name instanceof byte[] b ? io.nodecast.posix.Names.show(b) : (String) name;
            String entry = at == null || at.isEmpty() ? "" : " (at '" + at + "')";
            String where = at == null || at.isEmpty() ? "" : "'" + at + "'";
            return switch (t) {
                case NodecastException ne -> new NodecastException(ne.exitCode(), label + ": " + ne.getMessage(), ne.getCause());
                case BadArchiveException bad -> new NodecastException(ExitCode.BUNDLE, bad.getMessage(), bad);
                case PosixException pe when pe.is(Errno.ENOSPC) || pe.is(Errno.EDQUOT) || pe.is(Errno.EFBIG) ->
                        new NodecastException(ExitCode.NO_SPACE, dest.root() + " is full (" + pe.reason() + ", writing "
                                + where + " of " + label + "): free space there or choose another -p", pe);
                case PosixException pe when pe.is(Errno.EACCES) || pe.is(Errno.EPERM) || pe.is(Errno.EROFS) ->
                        new NodecastException(ExitCode.DESTINATION, label + ": cannot write " + where + " in " + dest.root()
                                + ": " + pe.reason(), pe);
                case PosixException pe when pe.is(Errno.ENAMETOOLONG) || pe.is(Errno.ENOTDIR) || pe.is(Errno.ELOOP)
                        || pe.is(Errno.EXDEV) || pe.is(Errno.EISDIR) || pe.is(Errno.EMLINK) || pe.is(Errno.EINVAL) ->
                        new NodecastException(ExitCode.UNSAFE, label + ": entry " + where + " cannot be unpacked ("
                                + pe.getMessage() + "); refusing the bundle", pe);
                case PosixException pe -> new NodecastException(ExitCode.DESTINATION, label + ": writing " + where
                        + " in " + dest.root() + " failed: " + pe.getMessage(), pe);
                case InterruptedIOException ie -> new NodecastException(ExitCode.FAILURE, label + ": unpacking interrupted" + entry, ie);
                case IOException io -> new NodecastException(ExitCode.BUNDLE, label + " cannot be read" + entry + ": " + io.getMessage(), io);
                case OutOfMemoryError oom -> new NodecastException(ExitCode.FAILURE, label + ": out of memory while unpacking"
                        + entry + " (" + oom.getMessage() + ")", oom);
                default -> new NodecastException(ExitCode.FAILURE, label + ": unpacking failed" + entry + ": " + t, t);
            };
        }

        /**
         * How a writer ends a file: relocation's patches written over a binary, size for a sparse one, mode when the
         * umask changed it, time.
         */
        private record Close(int chmod, long mtime, int nanos, long truncate, List<Rewrite.Patch> patches) {
            Close with(List<Rewrite.Patch> p) {
                return new Close(chmod, mtime, nanos, truncate, p);
            }
        }

        /** A piece of a file's data (or none), at a file offset (or -1: where the last one ended), maybe its end. */
        private record Work(int fd, TarReader.Slice slice, long offset, Close close, Containment.EntryPath path) {
            String name() {
                return path == null ? "" : path.shown();
            }
        }

        private static final Work END = new Work(-1, null, -1, null, null);

        /** A thread writing file data; its queue keeps the order of each file's pieces. */
        private final class Writer implements Runnable {
            final BlockingQueue<Work> queue = new ArrayBlockingQueue<>(4096);
            final Thread thread;
            boolean ended;

            Writer(int i) {
                thread = Thread.ofPlatform().name("nodecast-write-" + i).daemon().start(this);
            }

            void put(Work w) throws InterruptedIOException {
                try {
                    while (!queue.offer(w, 50, TimeUnit.MILLISECONDS)) {
                        if (!thread.isAlive()) {
                            discard(w);
                            throw new InterruptedIOException("a writer thread ended");
                        }
                    }
                } catch (InterruptedException e) {
                    discard(w);
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while handing data to a writer");
                }
            }

            void end() {
                if (ended) return;
                ended = true;
                try {
                    while (!queue.offer(END, 50, TimeUnit.MILLISECONDS)) {
                        if (!thread.isAlive()) return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }

            void join() {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }

            @Override
            public void run() {
                try (Sys sys = new Sys()) {
                    while (true) {
                        Work w = queue.take();
                        if (w == END) break;
                        if (stopped()) {
                            discard(w, sys);
                            continue;
                        }
                        try {
                            write(sys, w);
                        } catch (Throwable t) {
                            fail(t, w.path() == null ? "" : w.path().raw());   // write() gave the block back and closed a finished file
                        }
                    }
                } catch (Throwable t) {
                    fail(t, "");
                } finally {
                    // whatever is still queued after a failure: give its blocks back, close its files
                    Work w;
                    while ((w = queue.poll()) != null) discard(w);
                }
            }

            private void discard(Work w, Sys sys) {
                release(w);
                if (w.close() != null && w.fd() >= 0) sys.closeQuietly(w.fd());
            }

            private void discard(Work w) {
                if (w == END) return;
                try (Sys sys = new Sys()) {
                    discard(w, sys);
                }
            }
        }

        /** Decompression on a thread of its own, a few blocks ahead of the parser. */
        private final class Prefetch implements BlockSource {
            final BlockingQueue<Object> ready = new ArrayBlockingQueue<>(blocks() + 2);
            final Thread thread;
            volatile BlockSource source;
            volatile boolean stop;
            long produced;
            boolean end;

            Prefetch(ChunkInput raw) {
                thread = Thread.ofPlatform().name("nodecast-inflate").daemon().start(() -> {
                    try {
                        source = Decompression.open(raw, pool, label, options.maxTarBytes(), () -> stop || stopped());
                        Block b;
                        while ((b = source.next()) != null) {
                            if (!offer(b)) {
                                b.release();
                                return;
                            }
                        }
                        offer(Boolean.TRUE);
                    } catch (Throwable t) {
                        offer(t);
                    } finally {
                        if (source != null) source.close();
                    }
                });
            }

            private boolean offer(Object o) {
                try {
                    while (!ready.offer(o, 50, TimeUnit.MILLISECONDS)) {
                        if (stop || stopped()) return false;
                    }
                    return true;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }

            @Override
            public Block next() throws IOException {
                if (end) return null;
                Object o;
                try {
                    while ((o = ready.poll(50, TimeUnit.MILLISECONDS)) == null) {
                        if (stopped()) throw new InterruptedIOException("unpacking stopped");
                        if (!thread.isAlive() && ready.isEmpty()) throw new IOException("the decompressing thread ended");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException();
                }
                return switch (o) {
                    case Block b -> {
                        produced += b.length();
                        yield b;
                    }
                    case IOException io -> throw io;
                    case RuntimeException re -> throw re;
                    case Error err -> throw err;
                    case Throwable t -> throw new IOException(t);
                    default -> {
                        end = true;
                        yield null;
                    }
                };
            }

            @Override
            public long produced() {
                return produced;
            }

            /** Stops decompressing and gives back what was decompressed but not parsed. */
            void stop() {
                stop = true;
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                Object o;
                while ((o = ready.poll()) != null) if (o instanceof Block b) b.release();
            }

            @Override
            public void close() {
                // the thread closes the decoder; stop() ends it
            }
        }
    }
}
