package io.nodecast.bundle;

import io.nodecast.format.Compression;
import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.digest.Sha256;
import io.nodecast.relocate.Manifest;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Writes one bundle: a tar stream of a tree, in directory-walk order, compressed, with a SHA-256 sidecar.
 * Its first entry is the relocation list ({@link Manifest}), found by a scan of the files before any is written.
 *
 * <p>The archive is written to a hidden temporary name beside the output and renamed only when complete,
 * so a failed build never leaves a file that looks like a bundle.
 */
public final class BundleWriter {
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
        long total = 0;
        for (BundlePlan.Item i : BundlePlan.of(spec, Map.of()).items()) {
            if (i instanceof BundlePlan.Item.File f) total += f.size();
        }
        return total;
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
        State st = new State(spec);
        try {
            BundlePlan plan = BundlePlan.of(spec, overlay);
            long s0 = System.nanoTime();
            RelocationScan.Result relocation = RelocationScan.of(spec, plan, workers);
            List<String> notes = new ArrayList<>(plan.notes());
            notes.addAll(relocation.notes());
            if (!spec.origins().isEmpty()) {
                notes.add(String.format(java.util.Locale.ROOT, "relocation list: %d files name %s (scanned in %.1f s)",
                        relocation.manifest().files().size(), spec.origins().stream().map(o -> o.path()).toList(), (System.nanoTime() - s0) / 1e9));
            }
            Files.createDirectories(parent);
            MessageDigest sha = Sha256.create();
            try (OutputStream file = Files.newOutputStream(tmp);
                 CountingOutputStream counted = new CountingOutputStream(file);
                 DigestOutputStream digest = new DigestOutputStream(counted, sha);
                 OutputStream compressed = compression.compress(digest, level, workers);
                 TarArchiveOutputStream tar = new TarArchiveOutputStream(new BufferedOutputStream(compressed, 1 << 20))) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                tar.setAddPaxHeadersForNonAsciiNames(true);
                st.tar = tar;
                writeManifest(tar, relocation.manifest());
                for (BundlePlan.Item item : plan.items()) {
                    st.current = item.name();
                    writeItem(st, item);
                }
                tar.finish();
                tar.close();
                st.bytesOut = counted.count;
            }
            String hex = Sha256.hex(sha);
            Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Checksums.writeSidecar(output, hex);
            return new BundleSummary(output, st.files, st.dirs, st.links, st.bytesIn, st.bytesOut, st.relocated,
                    overlay.size(), relocation.manifest().files().size(), notes, hex, (System.nanoTime() - start) / 1_000_000);
        } catch (IOException | UncheckedIOException e) {
            deleteQuietly(tmp);
            IOException io = e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
            String where = st.current == null ? "" : " while adding " + st.current;
            throw new NodecastException(ExitCode.BUNDLE, "cannot write bundle " + output + where + ": " + describe(io), io);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** The relocation list, always the first entry, so the extractor has it before any file it names. */
    private static void writeManifest(TarArchiveOutputStream tar, Manifest manifest) throws IOException {
        byte[] bytes = manifest.encode();
        TarArchiveEntry e = new TarArchiveEntry(Manifest.ENTRY_NAME);
        e.setMode(0100644);
        e.setModTime(FileTime.fromMillis(System.currentTimeMillis()));
        e.setSize(bytes.length);
        tar.putArchiveEntry(e);
        tar.write(bytes);
        tar.closeArchiveEntry();
    }

    private static final class State {
        final BundleSpec spec;
        TarArchiveOutputStream tar;
        String current;
        long files, dirs, links, bytesIn, bytesOut, relocated;

        State(BundleSpec spec) {
            this.spec = spec;
        }
    }

    private void writeItem(State st, BundlePlan.Item item) throws IOException {
        TarArchiveEntry e;
        switch (item) {
            case BundlePlan.Item.Dir d -> {
                e = new TarArchiveEntry(d.name() + "/", TarConstants.LF_DIR);
                e.setMode(040000 | d.mode());
                e.setModTime(d.mtime());
                st.dirs++;
            }
            case BundlePlan.Item.Link l -> {
                e = new TarArchiveEntry(l.name(), TarConstants.LF_SYMLINK);
                e.setLinkName(l.target());
                e.setMode(0120777);
                e.setModTime(l.mtime());
                st.links++;
            }
            case BundlePlan.Item.HardLink h -> {
                e = new TarArchiveEntry(h.name(), TarConstants.LF_LINK);
                e.setLinkName(h.first());
                e.setMode(0100000 | h.mode());
                e.setModTime(h.mtime());
                st.links++;
            }
            case BundlePlan.Item.File f -> {
                writeFile(st, f);
                return;
            }
        }
        st.tar.putArchiveEntry(e);
        st.tar.closeArchiveEntry();
    }

    private void writeFile(State st, BundlePlan.Item.File f) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(f.name());
        e.setMode(0100000 | f.mode());
        e.setModTime(f.mtime());
        long size;
        if (f.patched() != null) {
            size = f.patched().length;
            e.setSize(size);
            st.tar.putArchiveEntry(e);
            st.tar.write(f.patched());
        } else {
            size = f.size();
            Path source = f.source();
            try (InputStream in = Files.newInputStream(source, LinkOption.NOFOLLOW_LINKS)) {
                byte[] head = in.readNBytes((int) Math.min(size, 4));
                if (st.spec.relocateElf() && ElfRunpath.isElf(head, head.length) && size <= ELF_RELOCATE_MAX) {
                    byte[] all = new byte[(int) size];
                    System.arraycopy(head, 0, all, 0, head.length);
                    int n = in.readNBytes(all, head.length, all.length - head.length) + head.length;
                    if (n != size || in.read() >= 0) throw new IOException(source + " changed size while being bundled");
                    if (ElfRunpath.relocate(all, st.spec.root(), Path.of(f.name()))) st.relocated++;
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
            }
        }
        st.tar.closeArchiveEntry();
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
