package io.nodecast.bundle;

import io.nodecast.format.Compression;
import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Writes one bundle: a tar stream of a tree, in directory-walk order, compressed, with a SHA-256 sidecar.
 *
 * <p>The archive is written to a hidden temporary name beside the output and renamed only when complete,
 * so a failed build never leaves a file that looks like a bundle.
 */
public final class BundleWriter {
    /** Mode bits a bundle never carries: setuid, setgid, sticky, and write for others. */
    private static final int STRIPPED_MODE_BITS = 07000 | 0002;
    private static final int ELF_RELOCATE_MAX = 512 << 20;

    private final Compression compression;
    private final int level;
    private final int workers;
    private final LongConsumer progress;

    /** @param progress told the number of input bytes written so far (for a progress bar); may be a no-op */
    public BundleWriter(Compression compression, int level, int workers, LongConsumer progress) {
        this.compression = compression;
        this.level = level;
        this.workers = workers;
        this.progress = progress;
    }

    /** Sum of the sizes of the regular files the spec selects, without writing anything (mirror's size check). */
    public static long measure(BundleSpec spec) throws IOException {
        long[] total = {0};
        Excludes.Matcher ex = spec.excludes().matcher();
        for (Path member : roots(spec)) {
            Files.walkFileTree(member, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a) {
                    return !dir.equals(spec.root()) && excluded(spec, ex, dir) ? FileVisitResult.SKIP_SUBTREE
                            : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                    if (a.isRegularFile() && !excluded(spec, ex, f)) total[0] += a.size();
                    return FileVisitResult.CONTINUE;
                }
            });
        }
        return total[0];
    }

    /**
     * @param overlay extra files (relative path → source) added beside the tree's own, e.g. bytecode compiled
     *                at bundle time; their directories must exist in the tree or be __pycache__ directories
     */
    public BundleSummary write(BundleSpec spec, Path output, Map<Path, Path> overlay) {
        long start = System.nanoTime();
        Path root = spec.root();
        if (!Files.isDirectory(root)) {
            throw new NodecastException(ExitCode.USAGE, root + ": not a directory");
        }
        Path parent = output.toAbsolutePath().getParent();
        Path tmp = parent.resolve("." + output.getFileName() + ".partial");
        State st = new State(spec, overlay);
        try {
            Files.createDirectories(parent);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (OutputStream file = Files.newOutputStream(tmp);
                 CountingOutputStream counted = new CountingOutputStream(file);
                 DigestOutputStream digest = new DigestOutputStream(counted, sha);
                 OutputStream compressed = compression.compress(digest, level, workers);
                 TarArchiveOutputStream tar = new TarArchiveOutputStream(new BufferedOutputStream(compressed, 1 << 20))) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                tar.setAddPaxHeadersForNonAsciiNames(true);
                st.tar = tar;
                for (Path member : roots(spec)) walk(st, member);
                tar.finish();
                tar.close();
                st.bytesOut = counted.count;
            }
            String hex = HexFormat.of().formatHex(sha.digest());
            Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Checksums.writeSidecar(output, hex);
            return new BundleSummary(output, st.files, st.dirs, st.links, st.bytesIn, st.bytesOut, st.relocated,
                    overlay.size(), hex, (System.nanoTime() - start) / 1_000_000);
        } catch (IOException e) {
            deleteQuietly(tmp);
            String where = st.current == null ? "" : " while adding " + st.current;
            throw new NodecastException(ExitCode.BUNDLE, "cannot write bundle " + output + where + ": " + describe(e), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private static List<Path> roots(BundleSpec spec) {
        if (spec.members().isEmpty()) return List.of(spec.root());
        List<Path> out = new ArrayList<>();
        for (Path m : spec.members()) {
            Path p = spec.root().resolve(m).normalize();
            if (!p.startsWith(spec.root())) {
                throw new NodecastException(ExitCode.USAGE, m + ": not inside " + spec.root());
            }
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) out.add(p);
        }
        return out;
    }

    private static boolean excluded(BundleSpec spec, Excludes.Matcher ex, Path p) {
        Path rel = spec.root().relativize(p);
        if (spec.pyc() == PycMode.DROP) {
            String n = rel.getFileName() == null ? "" : rel.getFileName().toString();
            if (n.equals("__pycache__") || n.endsWith(".pyc")) return true;
        }
        return ex.excludes(rel);
    }

    private static final class State {
        final BundleSpec spec;
        final Excludes.Matcher excludes;
        final Map<Path, List<Map.Entry<Path, Path>>> overlayByDir = new HashMap<>();
        final Map<Object, String> hardLinks = new HashMap<>();
        TarArchiveOutputStream tar;
        Path current;
        long files, dirs, links, bytesIn, bytesOut, relocated;

        State(BundleSpec spec, Map<Path, Path> overlay) {
            this.spec = spec;
            this.excludes = spec.excludes().matcher();
            overlay.forEach((rel, src) -> overlayByDir
                    .computeIfAbsent(rel.getParent() == null ? Path.of("") : rel.getParent(), k -> new ArrayList<>())
                    .add(Map.entry(rel, src)));
        }
    }

    private void walk(State st, Path member) throws IOException {
        Path root = st.spec.root();
        Files.walkFileTree(member, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a) throws IOException {
                if (!dir.equals(root) && excluded(st.spec, st.excludes, dir)) return FileVisitResult.SKIP_SUBTREE;
                if (!dir.equals(root)) {
                    st.current = dir;
                    addEntry(st, dir, root.relativize(dir));
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                if (excluded(st.spec, st.excludes, f)) return FileVisitResult.CONTINUE;
                st.current = f;
                addEntry(st, f, root.relativize(f));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) return FileVisitResult.CONTINUE; // removed while we walked
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) throw e;
                Path rel = dir.equals(root) ? Path.of("") : root.relativize(dir);
                addOverlay(st, rel);
                Path cache = rel.resolve("__pycache__");
                if (!Files.isDirectory(dir.resolve("__pycache__")) && st.overlayByDir.containsKey(cache)) {
                    TarArchiveEntry d = new TarArchiveEntry(cache + "/", TarConstants.LF_DIR);
                    d.setMode(040755);
                    d.setModTime(FileTime.fromMillis(System.currentTimeMillis()));
                    st.tar.putArchiveEntry(d);
                    st.tar.closeArchiveEntry();
                    st.dirs++;
                    addOverlay(st, cache);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private void addOverlay(State st, Path relDir) throws IOException {
        List<Map.Entry<Path, Path>> extra = st.overlayByDir.remove(relDir);
        if (extra == null) return;
        for (Map.Entry<Path, Path> e : extra) {
            st.current = e.getValue();
            addEntry(st, e.getValue(), e.getKey());
        }
    }

    private void addEntry(State st, Path source, Path rel) throws IOException {
        Map<String, Object> a = Files.readAttributes(source, "unix:mode,size,lastModifiedTime,nlink,ino,dev",
                LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        int perms = mode & 07777 & ~STRIPPED_MODE_BITS;
        FileTime mtime = (FileTime) a.get("lastModifiedTime");
        String name = rel.toString().replace('\\', '/');
        int type = mode & 0170000;
        TarArchiveEntry e;
        switch (type) {
            case 0040000 -> {
                e = new TarArchiveEntry(name + "/", TarConstants.LF_DIR);
                e.setMode(040000 | perms);
                st.dirs++;
            }
            case 0120000 -> {
                e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
                e.setLinkName(Files.readSymbolicLink(source).toString());
                e.setMode(0120777);
                st.links++;
            }
            case 0100000 -> {
                int nlink = (Integer) a.get("nlink");
                if (nlink > 1) {
                    Object key = List.of(a.get("dev"), a.get("ino"));
                    String first = st.hardLinks.putIfAbsent(key, name);
                    if (first != null) {
                        e = new TarArchiveEntry(name, TarConstants.LF_LINK);
                        e.setLinkName(first);
                        e.setMode(0100000 | perms);
                        e.setModTime(mtime);
                        st.tar.putArchiveEntry(e);
                        st.tar.closeArchiveEntry();
                        st.links++;
                        return;
                    }
                }
                writeFile(st, source, rel, name, 0100000 | perms, mtime, (Long) a.get("size"));
                return;
            }
            default -> {
                return; // sockets, FIFOs and devices have no place in a software bundle
            }
        }
        e.setModTime(mtime);
        st.tar.putArchiveEntry(e);
        st.tar.closeArchiveEntry();
    }

    private void writeFile(State st, Path source, Path rel, String name, int mode, FileTime mtime, long size)
            throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(mode);
        e.setModTime(mtime);
        try (InputStream in = Files.newInputStream(source, LinkOption.NOFOLLOW_LINKS)) {
            byte[] head = in.readNBytes((int) Math.min(size, 4));
            if (st.spec.relocateElf() && ElfRunpath.isElf(head, head.length) && size <= ELF_RELOCATE_MAX) {
                byte[] all = new byte[(int) size];
                System.arraycopy(head, 0, all, 0, head.length);
                int n = in.readNBytes(all, head.length, all.length - head.length) + head.length;
                if (n != size) throw new IOException(source + " changed size while being bundled");
                if (ElfRunpath.relocate(all, st.spec.root(), rel)) st.relocated++;
                e.setSize(size);
                st.tar.putArchiveEntry(e);
                st.tar.write(all);
            } else {
                e.setSize(size);
                st.tar.putArchiveEntry(e);
                st.tar.write(head);
                long copied = head.length + in.transferTo(st.tar);
                if (copied != size) throw new IOException(source + " changed size while being bundled");
            }
            st.tar.closeArchiveEntry();
        }
        st.files++;
        st.bytesIn += size;
        progress.accept(st.bytesIn);
    }

    static String describe(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file: " + e.getMessage();
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the partial name is hidden and never taken for a bundle
        }
    }

    private static final class CountingOutputStream extends FilterOutputStream {
        long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }
}
