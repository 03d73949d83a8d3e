package io.nodecast.unpack;

import io.nodecast.format.Compression;
import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.NodecastException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Unpacks one bundle stream into a {@link Destination}, refusing anything that would land outside it.
 *
 * <p>Two threads: the caller decompresses and parses (and checks every name), a writer thread creates the
 * files. A fixed pool of buffers carries file data between them, so memory stays bounded whatever the bundle.
 * Later bundles overwrite earlier ones whatever the entry types; directory modes and times are applied last,
 * deepest first, so read-only directories can still be filled.
 */
public final class SafeExtractor {
    // most files of a prefix are under 64 KiB: one buffer each; a pool keeps the garbage collector out of the way
    private static final int DATA_CHUNK = 64 << 10;
    private static final int BUFFERS = 512;

    private final Destination dest;

    public SafeExtractor(Destination dest) {
        this.dest = dest;
    }

    /** The work handed from the parser to the writer. */
    private sealed interface Op {
        record Dir(Path rel, int mode, FileTime mtime) implements Op {}
        record FileStart(Path rel, int mode, FileTime mtime) implements Op {}
        record FileData(byte[] bytes, int length) implements Op {}
        record FileEnd() implements Op {}
        record Symlink(Path rel, String target) implements Op {}
        record HardLink(Path rel, Path target) implements Op {}
        record End() implements Op {}
    }

    /**
     * @param raw   the bundle's bytes, in any supported compression (told by content)
     * @param label how messages name the bundle
     */
    public UnpackSummary extract(InputStream raw, String label) {
        Writer writer = new Writer();
        Thread thread = Thread.ofPlatform().name("nodecast-writer").daemon().start(writer);
        String current = null;
        try {
            BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
            in.mark(Compression.PROBE_BYTES);
            byte[] head = in.readNBytes(Compression.PROBE_BYTES);
            in.reset();
            Compression c = Compression.detect(head, head.length);
            if (c == null) {
                throw new NodecastException(ExitCode.BUNDLE, label + " is not a bundle: not a tar archive, "
                        + "compressed or not (.tar.zst, .tar.gz, .tar.bz2, .tar.xz, .tar)");
            }
            // tar reads 512-byte records: one buffer in front of the decompressor saves a native call per record
            TarArchiveInputStream tar = new TarArchiveInputStream(new BufferedInputStream(c.decompress(in), 1 << 20), "UTF-8");
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                current = e.getName();
                parse(e, tar, writer);
            }
            current = null;
            writer.put(new Op.End());
            writer.awaitDone();
            return writer.summary();
        } catch (NodecastException ne) {
            writer.abort();
            Throwable w = writer.failure;
            if (w instanceof NodecastException wne) throw prefixed(wne, label);
            throw prefixed(ne, label);
        } catch (IOException | UncheckedIOException ioe) {
            writer.abort();
            if (writer.failure instanceof NodecastException wne) throw prefixed(wne, label);
            String at = current == null ? "" : " (at entry '" + current + "')";
            Throwable cause = ioe instanceof UncheckedIOException u ? u.getCause() : ioe;
            throw new NodecastException(ExitCode.BUNDLE, label + " is truncated or corrupt" + at + ": " + cause.getMessage(), cause);
        } catch (InterruptedException ie) {
            writer.abort();
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, label + ": unpacking interrupted", ie);
        } catch (RuntimeException | Error unexpected) {
            writer.abort();
            throw unexpected;
        } finally {
            try {
                thread.join();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static NodecastException prefixed(NodecastException e, String label) {
        return new NodecastException(e.exitCode(), label + ": " + e.getMessage(), e.getCause());
    }

    private void parse(TarArchiveEntry e, TarArchiveInputStream tar, Writer writer) throws IOException, InterruptedException {
        String name = e.getName();
        // link and device checks come first: commons-compress calls a link entry a "file" too
        if (e.isCharacterDevice() || e.isBlockDevice()) throw EntryPaths.unsafe(name, "is a device file");
        if (e.isFIFO()) throw EntryPaths.unsafe(name, "is a FIFO");
        Path rel = EntryPaths.entry(name);
        FileTime mtime = FileTime.from(e.getLastModifiedDate().toInstant());
        int mode = e.getMode() & 07777 & ~(07000 | 0002);
        if (e.isSymbolicLink()) {
            if (rel == null) throw EntryPaths.unsafe(name, "replaces the destination itself with a link");
            EntryPaths.checkSymlinkTarget(rel, e.getLinkName());
            writer.put(new Op.Symlink(rel, e.getLinkName()));
        } else if (e.isLink()) {
            if (rel == null) throw EntryPaths.unsafe(name, "replaces the destination itself with a link");
            Path target = EntryPaths.entry(e.getLinkName());
            if (target == null) throw EntryPaths.unsafe(name, "is a hard link to the destination itself");
            writer.put(new Op.HardLink(rel, target));
        } else if (e.isDirectory()) {
            if (rel != null) writer.put(new Op.Dir(rel, mode, mtime));
        } else if (e.isFile()) {
            if (rel == null) throw EntryPaths.unsafe(name, "is a file in place of the destination");
            writer.put(new Op.FileStart(rel, mode, mtime));
            long left = e.getSize();
            while (left > 0) {
                byte[] buf = writer.buffer();
                int want = (int) Math.min(DATA_CHUNK, left);
                int n = tar.readNBytes(buf, 0, want);
                if (n < want) {
                    throw new IOException("archive ends inside '" + name + "' (" + (e.getSize() - left + n) + " of "
                            + e.getSize() + " bytes)");
                }
                writer.put(new Op.FileData(buf, n));
                left -= n;
            }
            writer.put(new Op.FileEnd());
        } else {
            throw EntryPaths.unsafe(name, "has an entry type nodecast does not unpack ('" + (char) e.getLinkFlag() + "')");
        }
    }

    /** Creates what the parser decided; owns all file-system state of one extraction. */
    private final class Writer implements Runnable {
        final BlockingQueue<Op> queue = new ArrayBlockingQueue<>(8192);
        final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(BUFFERS);
        final Set<Path> realDirs = new HashSet<>();
        final List<Op.Dir> dirsToFinish = new ArrayList<>();
        final Map<Path, Integer> restoreModes = new java.util.LinkedHashMap<>();
        volatile Throwable failure;
        volatile boolean done;
        long files, dirs, links, bytes;
        FileChannel open;
        Path openPath;
        Op.FileStart openMeta;

        Writer() {
            for (int i = 0; i < BUFFERS; i++) free.add(new byte[DATA_CHUNK]);
        }

        void put(Op op) throws InterruptedException {
            while (!queue.offer(op, 100, TimeUnit.MILLISECONDS)) checkFailure();
            checkFailure();
        }

        /** A buffer for file data; waits for the writer to return one, so memory in flight is fixed. */
        byte[] buffer() throws InterruptedException {
            byte[] b;
            while ((b = free.poll(100, TimeUnit.MILLISECONDS)) == null) checkFailure();
            return b;
        }

        void checkFailure() {
            Throwable f = failure;
            if (f instanceof NodecastException ne) throw ne;
            if (f instanceof IOException io) throw new UncheckedIOException(io);
            if (f != null) throw new IllegalStateException("writer failed", f);
        }

        void abort() {
            if (failure == null) failure = new InterruptedException("aborted");
            queue.clear();
            queue.offer(new Op.End());
        }

        synchronized void awaitDone() throws InterruptedException {
            while (!done) wait();
            checkFailure();
        }

        UnpackSummary summary() {
            return new UnpackSummary(files, dirs, links, bytes);
        }

        @Override
        public void run() {
            try {
                realDirs.add(dest.root());
                while (true) {
                    Op op = queue.take();
                    if (failure != null) break;
                    if (op instanceof Op.End) {
                        finish();
                        break;
                    }
                    apply(op);
                }
            } catch (Throwable t) {
                if (failure == null) failure = translate(t);
                queue.clear();
            } finally {
                closeQuietly();
                synchronized (this) {
                    done = true;
                    notifyAll();
                }
            }
        }

        private Throwable translate(Throwable t) {
            if (!(t instanceof IOException io)) return t;
            String where = openPath != null ? dest.root().relativize(openPath).toString() : "";
            String msg = io.getMessage() == null ? io.toString() : io.getMessage();
            if (msg.contains("No space left on device") || msg.contains("Disk quota exceeded")) {
                return new NodecastException(ExitCode.NO_SPACE, dest.root()
                        + " is full (writing '" + where + "'): free space there or choose another -p", io);
            }
            if (io instanceof AccessDeniedException || msg.contains("Permission denied") || msg.contains("Read-only file system")) {
                return new NodecastException(ExitCode.DESTINATION, "cannot write " + msg
                        + " in " + dest.root(), io);
            }
            return new NodecastException(ExitCode.DESTINATION, "writing '" + where + "' in "
                    + dest.root() + " failed: " + msg, io);
        }

        private void apply(Op op) throws IOException {
            switch (op) {
                case Op.Dir d -> {
                    Path p = dest.root().resolve(d.rel());
                    ensureParent(p);
                    Map<String, Object> a = lstat(p);
                    if (a != null && isDir(a)) {
                        checkOwner(p, a);
                    } else {
                        if (a != null) removeExisting(p);
                        Files.createDirectory(p);
                    }
                    makeWritable(p);
                    realDirs.add(p);
                    dirsToFinish.add(d);
                    dirs++;
                }
                case Op.FileStart f -> {
                    Path p = dest.root().resolve(f.rel());
                    ensureParent(p);
                    openPath = p;
                    openMeta = f;
                    try {
                        open = FileChannel.open(p, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
                    } catch (FileAlreadyExistsException exists) {
                        removeExisting(p);
                        open = FileChannel.open(p, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
                    }
                }
                case Op.FileData data -> {
                    ByteBuffer b = ByteBuffer.wrap(data.bytes(), 0, data.length());
                    while (b.hasRemaining()) open.write(b);
                    bytes += data.length();
                    free.offer(data.bytes());
                }
                case Op.FileEnd ignored -> {
                    open.close();
                    open = null;
                    setMode(openPath, openMeta.mode());
                    setTime(openPath, openMeta.mtime());
                    openPath = null;
                    files++;
                }
                case Op.Symlink s -> {
                    Path p = dest.root().resolve(s.rel());
                    ensureParent(p);
                    if (lstat(p) != null) removeExisting(p);
                    Files.createSymbolicLink(p, Path.of(s.target()));
                    links++;
                }
                case Op.HardLink h -> {
                    Path p = dest.root().resolve(h.rel());
                    Path target = dest.root().resolve(h.target());
                    ensureParent(p);
                    if (!realDirs.contains(target.getParent())) {
                        throw EntryPaths.unsafe(h.rel().toString(), "is a hard link to '" + h.target()
                                + "', which this bundle did not put in a real directory");
                    }
                    Map<String, Object> ta = lstat(target);
                    if (ta == null || ((Integer) ta.get("mode") & 0170000) != 0100000) {
                        throw EntryPaths.unsafe(h.rel().toString(), "is a hard link to '" + h.target()
                                + "', which is not a regular file unpacked before it");
                    }
                    if (lstat(p) != null) removeExisting(p);
                    Files.createLink(p, target);
                    links++;
                }
                case Op.End ignored -> { }
            }
        }

        /** Every directory between the destination and p must be a real directory of ours: never write through a link. */
        private void ensureParent(Path p) throws IOException {
            Path parent = p.getParent();
            if (realDirs.contains(parent)) return;
            ensureParent(parent);
            Map<String, Object> a = lstat(parent);
            if (a == null) {
                Files.createDirectory(parent);
            } else if (((Integer) a.get("mode") & 0170000) == 0120000) {
                throw EntryPaths.unsafe(dest.root().relativize(p).toString(),
                        "would be written through the symbolic link '" + dest.root().relativize(parent) + "'");
            } else if (!isDir(a)) {
                removeExisting(parent);  // an earlier bundle had a file where this one has a directory
                Files.createDirectory(parent);
            } else {
                checkOwner(parent, a);
                makeWritable(parent);
            }
            realDirs.add(parent);
        }

        private void checkOwner(Path p, Map<String, Object> a) {
            int owner = (Integer) a.get("uid");
            if (owner != dest.uid()) {
                throw new NodecastException(ExitCode.DESTINATION, p + " belongs to uid " + owner
                        + ", not to you; refusing to write into it");
            }
        }

        private void makeWritable(Path dir) throws IOException {
            int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
            if ((mode & 0700) != 0700) {
                restoreModes.putIfAbsent(dir, mode);
                Files.setAttribute(dir, "unix:mode", mode | 0700, LinkOption.NOFOLLOW_LINKS);
            }
        }

        private void setMode(Path p, int mode) throws IOException {
            // new files get 0666 & ~umask; chmod only when the bundle asks for something else
            if (mode != (0666 & ~dest.umask())) Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
        }

        private void finish() throws IOException {
            for (int i = dirsToFinish.size() - 1; i >= 0; i--) {
                Op.Dir d = dirsToFinish.get(i);
                Path p = dest.root().resolve(d.rel());
                Files.setAttribute(p, "unix:mode", d.mode() | 0500, LinkOption.NOFOLLOW_LINKS);
                setTime(p, d.mtime());
                restoreModes.remove(p);
            }
            for (Map.Entry<Path, Integer> r : restoreModes.entrySet()) {
                Files.setAttribute(r.getKey(), "unix:mode", r.getValue(), LinkOption.NOFOLLOW_LINKS);
            }
        }

        private void closeQuietly() {
            if (open != null) {
                try {
                    open.close();
                } catch (IOException ignored) {
                    // the failure that brought us here is the one to report
                }
            }
        }
    }

    private static Map<String, Object> lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** By path (utimensat), not through a file descriptor: the JDK would open every file a second time. */
    private static void setTime(Path p, FileTime mtime) throws IOException {
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(mtime, null, null);
    }

    private static boolean isDir(Map<String, Object> a) {
        return ((Integer) a.get("mode") & 0170000) == 0040000;
    }

    /** Removes what an earlier bundle left at p: a file, a link, or a whole tree. */
    static void removeExisting(Path p) throws IOException {
        FileTrees.delete(p);
    }
}
