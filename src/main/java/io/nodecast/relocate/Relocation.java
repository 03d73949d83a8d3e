package io.nodecast.relocate;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One bundle's relocation on one node. The extractor relocates a listed file while it writes it, from the bytes
 * passing through ({@link #rewrite} for a script or a text file, a {@link Scan} for a binary), and tells which file
 * that was ({@link #relocated}, by the kernel's identity of it): nothing is read back and no copy is written beside
 * it. {@link #finish} then asks, for each listed name, which file is there now: one relocated in the stream (under
 * that name or another, a hard link) is done; anything else (a name a later member replaced, a hard link to a file
 * the list does not name, a squashfs image's files) is relocated from DEST. It says what was done.
 *
 * <p>Not thread-safe: the thread that parses the stream owns it.
 */
public final class Relocation {
    private final Manifest manifest;
    private final Path dest;
    private final List<Rewrite.Mapping> mappings;
    /** Every new path longer than its original: no binary can take one. */
    private final boolean allGrow;
    /** Each file relocated in the stream, and what came of it. */
    private final Map<DestFiles.FileId, Rewrite.Result> inStream = new HashMap<>();
    private long nanos;

    public Relocation(Manifest manifest, Path dest) {
        this.manifest = manifest;
        this.dest = dest;
        this.mappings = Relocator.mappings(manifest, dest);
        this.allGrow = mappings.stream().allMatch(m -> m.to().length > m.from().length);
    }

    /** A script's or a text file's relocated content, from the bytes the bundle holds for it. */
    public Rewrite.Result rewrite(Manifest.Entry e, byte[] content) {
        long t0 = System.nanoTime();
        Rewrite.Result r = e.kind() == Manifest.Kind.SHEBANG ? Rewrite.script(content, mappings) : Rewrite.text(content, mappings);
        nanos += System.nanoTime() - t0;
        return r;
    }

    /** A scan of a binary's bytes as they pass; empty when no new path can fit a binary ({@link #finish} says so). */
    public Optional<Scan> binary() {
        return allGrow ? Optional.empty() : Optional.of(new Scan());
    }

    /** The file the extractor wrote relocated, as the result says (its patches written, or its rewritten bytes). */
    public void relocated(DestFiles.FileId file, Rewrite.Result r) {
        inStream.put(file, r);
    }

    /**
     * Relocates every listed file the stream did not, from DEST, and returns what was done to all of them: a -v line
     * for each file left alone, and one for the whole.
     */
    public Relocator.Outcome finish(DestFiles files) {
        if (manifest.isEmpty()) return new Relocator.Outcome(0, List.of());
        long t0 = System.nanoTime();
        List<String> notes = new ArrayList<>();
        int rewritten = 0, streamed = 0;
        for (Manifest.Entry e : manifest.files()) {
            Rewrite.Result r = inStream.isEmpty() ? null : inStream.get(id(files, e.path()));
            if (r != null) {
                streamed++;
            } else {
                r = fromDest(files, e);
                if (r instanceof Rewrite.Result.Changed c) write(() -> files.replace(e.path(), c.bytes()), e.path());
                if (r instanceof Rewrite.Result.Patched p) write(() -> files.patch(e.path(), p.patches()), e.path());
            }
            switch (r) {
                case Rewrite.Result.Changed c -> {
                    rewritten++;
                    c.note().ifPresent(n -> notes.add(e.path() + ": " + n));
                }
                case Rewrite.Result.Patched p -> rewritten++;
                case Rewrite.Result.Refused f -> notes.add(e.path() + ": not relocated: " + f.why());
                case Rewrite.Result.Unchanged u -> { }
            }
        }
        nanos += System.nanoTime() - t0;
        notes.add(String.format(Locale.ROOT, "relocated to %s: %d of the %d files that name %s (%d as they were unpacked, %.2f s)",
                dest, rewritten, manifest.files().size(), manifest.origins().size() == 1 ? manifest.origins().getFirst().path()
                        : manifest.origins().size() + " original paths", streamed, nanos / 1e9));
        return new Relocator.Outcome(rewritten, notes);
    }

    /** Which file the name is now; null when it is not a regular file (relocation from DEST then says why). */
    private DestFiles.FileId id(DestFiles files, String rel) {
        try {
            return files.id(rel).orElse(null);
        } catch (IOException io) {
            throw failure("read", rel, io);
        }
    }

    /** How a file relocated from DEST comes out, read there; nothing is written yet. */
    private Rewrite.Result fromDest(DestFiles files, Manifest.Entry e) {
        if (e.kind() == Manifest.Kind.CSTRING) {
            if (allGrow) {   // no need to read it
                return new Rewrite.Result.Refused("the new path is longer than the original, and a binary has no room for that: left as it is");
            }
            Scan scan = new Scan();
            byte[] buf = new byte[Relocator.PIECE];
            try (DestFiles.Reader in = files.open(e.path())) {
                for (int n; (n = in.read(buf, 0, buf.length)) >= 0; ) scan.add(buf, n);
            } catch (NoSuchFileException nsf) {
                throw notUnpacked(e.path(), nsf);
            } catch (IOException io) {
                throw failure("read", e.path(), io);
            }
            return scan.result();
        }
        byte[] in;
        try {
            in = files.read(e.path(), Relocator.MAX_FILE_BYTES);
        } catch (NoSuchFileException nsf) {
            throw notUnpacked(e.path(), nsf);
        } catch (IOException io) {
            throw failure("read", e.path(), io);
        }
        return e.kind() == Manifest.Kind.SHEBANG ? Rewrite.script(in, mappings) : Rewrite.text(in, mappings);
    }

    /**
     * A binary's C strings, scanned as its bytes come, in pieces of {@value Relocator#PIECE} bytes whatever size they
     * come in: a 45 MB static library is never in memory whole (on a virtual machine, fresh memory for it cost more than
     * the rest of the relocation), and every path is judged on the same bytes as in the whole file.
     */
    public final class Scan {
        private final Rewrite.CStringScan scan = new Rewrite.CStringScan(mappings);
        private final int window = scan.window();
        private final byte[] buf = new byte[Relocator.PIECE + window];
        private int filled;
        private long base;
        private Optional<String> refused = Optional.empty();

        private Scan() {
        }

        /** The next bytes of the file, from native memory (the extractor's decompressed blocks). */
        public void add(MemorySegment from, int length) {
            for (int at = 0; at < length && refused.isEmpty(); ) {
                int n = Math.min(length - at, buf.length - filled);
                MemorySegment.copy(from, ValueLayout.JAVA_BYTE, at, buf, filled, n);
                at += n;
                filled += n;
                if (filled == buf.length) scanFull();
            }
        }

        void add(byte[] from, int length) {
            add(MemorySegment.ofArray(from), length);
        }

        /** A path that starts before the limit has every byte it is judged on in the buffer. */
        private void scanFull() {
            long t0 = System.nanoTime();
            int limit = filled - window;
            refused = scan.scan(buf, filled, base, limit);
            System.arraycopy(buf, limit, buf, 0, filled - limit);
            base += limit;
            filled -= limit;
            nanos += System.nanoTime() - t0;
        }

        /** At the end of the file: what to write over it (nothing, or patches at offsets). */
        public Rewrite.Result result() {
            if (refused.isEmpty()) {
                long t0 = System.nanoTime();
                refused = scan.scan(buf, filled, base, filled);
                nanos += System.nanoTime() - t0;
            }
            return refused.<Rewrite.Result>map(Rewrite.Result.Refused::new)
                    .orElseGet(() -> scan.patches().isEmpty() ? new Rewrite.Result.Unchanged() : new Rewrite.Result.Patched(scan.patches()));
        }
    }

    /** One file's rewrite into DEST. */
    @FunctionalInterface
    private interface Write {
        void run() throws IOException;
    }

    private void write(Write w, String rel) {
        try {
            w.run();
        } catch (IOException io) {
            throw failure("rewrite", rel, io);
        }
    }

    private NodecastException notUnpacked(String rel, NoSuchFileException nsf) {
        return new NodecastException(ExitCode.BUNDLE, "relocation: '" + rel + "' is in the bundle's relocation list "
                + "but was not unpacked in " + dest, nsf);
    }

    /** A failure of the relocation, worded for the user; the extractor names the bundle and the node. */
    private NodecastException failure(String what, String rel, IOException io) {
        String msg = io.getMessage() == null ? io.toString() : io.getMessage();
        if (msg.contains("No space left on device") || msg.contains("Disk quota exceeded")) {
            return new NodecastException(ExitCode.NO_SPACE, dest + " is full (relocating '" + rel + "'): free space there or choose another -p", io);
        }
        String why = io instanceof AccessDeniedException ? "permission denied" : msg;
        return new NodecastException(ExitCode.DESTINATION, "relocation: cannot " + what + " '" + rel + "' in " + dest + ": " + why, io);
    }
}
