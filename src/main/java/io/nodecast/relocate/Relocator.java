package io.nodecast.relocate;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Points an unpacked bundle at where it now is: every file its {@link Manifest} lists is rewritten from the
 * original paths to DEST. Runs on each node after the bundle unpacked and before it is marked complete; it
 * rewrites what the bundle itself just wrote, so delivering the same bundle to another DEST relocates afresh.
 *
 * <p>The hook for the extractor: {@link #afterUnpack}.
 */
public final class Relocator {
    /** Files above this size are not read into memory; the bundle writer leaves them out of the manifest. */
    public static final int MAX_FILE_BYTES = 512 << 20;
    /** How much of a binary is scanned at a time. */
    static final int PIECE = 1 << 20;

    private Relocator() {}

    /**
     * @param rewritten files replaced by their relocated version
     * @param notes     one line each for -v: files left alone and why, or why nothing was relocated
     */
    public record Outcome(int rewritten, List<String> notes) {
        public Outcome {
            notes = List.copyOf(notes);
        }
    }

    /**
     * The hook: call once per bundle, after every entry of it unpacked without error into DEST and before the
     * bundle is marked complete. A {@link NodecastException} from here fails the bundle on this node like any
     * unpack error, and the completion mark must then not be written.
     *
     * @param manifest the bytes of the bundle's first entry when it is {@value Manifest#ENTRY_NAME}; empty when
     *                 the bundle has none (GNU tar, an older nodecast): it is then left as unpacked
     * @param dest     DEST's absolute path, the new home of the bundle's files
     * @param files    DEST's file operations
     */
    public static Outcome afterUnpack(Optional<byte[]> manifest, Path dest, DestFiles files) {
        if (manifest.isEmpty()) {
            return new Outcome(0, List.of("no relocation list (" + Manifest.ENTRY_NAME + ") in the bundle: made by GNU tar "
                    + "or an older nodecast; unpacked as it is, paths in it not relocated"));
        }
        return apply(Manifest.decode(manifest.get()), dest, files);
    }

    public static Outcome apply(Manifest manifest, Path dest, DestFiles files) {
        if (manifest.isEmpty()) return new Outcome(0, List.of());
        long t0 = System.nanoTime();
        List<Rewrite.Mapping> mappings = mappings(manifest, dest);
        List<String> notes = new ArrayList<>();
        int rewritten = 0;
        boolean allGrow = mappings.stream().allMatch(m -> m.to().length > m.from().length);
        for (Manifest.Entry e : manifest.files()) {
            if (e.kind() == Manifest.Kind.CSTRING && allGrow) {
                // the file names an original path (the list says so) and no new path fits: no need to read it
                notes.add(e.path() + ": not relocated: the new path is longer than the original, and a binary has no room for that: left as it is");
                continue;
            }
            Rewrite.Result r;
            if (e.kind() == Manifest.Kind.CSTRING) {
                r = binary(files, e.path(), mappings, dest);
            } else {
                byte[] in;
                try {
                    in = files.read(e.path(), MAX_FILE_BYTES);
                } catch (NoSuchFileException nsf) {
                    throw notUnpacked(e.path(), dest, nsf);
                } catch (IOException io) {
                    throw failure("read", e.path(), dest, io);
                }
                r = e.kind() == Manifest.Kind.SHEBANG ? Rewrite.script(in, mappings) : Rewrite.text(in, mappings);
            }
            switch (r) {
                case Rewrite.Result.Changed c -> {
                    write(() -> files.replace(e.path(), c.bytes()), e.path(), dest);
                    rewritten++;
                    c.note().ifPresent(n -> notes.add(e.path() + ": " + n));
                }
                case Rewrite.Result.Patched p -> {
                    write(() -> files.patch(e.path(), p.patches()), e.path(), dest);
                    rewritten++;
                }
                case Rewrite.Result.Refused f -> notes.add(e.path() + ": not relocated: " + f.why());
                case Rewrite.Result.Unchanged u -> { }
            }
        }
        notes.add(String.format(java.util.Locale.ROOT, "relocated to %s: %d of the %d files that name %s (%.2f s)", dest, rewritten,
                manifest.files().size(), manifest.origins().size() == 1 ? manifest.origins().getFirst().path()
                        : manifest.origins().size() + " original paths", (System.nanoTime() - t0) / 1e9));
        return new Outcome(rewritten, notes);
    }

    /**
     * A binary, scanned in pieces of {@value #PIECE} bytes: a 45 MB static library is never in memory whole, nor
     * copied there twice (on a virtual machine, fresh memory for it cost more than the rest of the relocation).
     */
    private static Rewrite.Result binary(DestFiles files, String rel, List<Rewrite.Mapping> mappings, Path dest) {
        Rewrite.CStringScan scan = new Rewrite.CStringScan(mappings);
        int window = scan.window();
        byte[] buf = new byte[PIECE + window];
        try (DestFiles.Reader in = files.open(rel)) {
            long base = 0;
            int filled = 0;
            boolean end = false;
            while (true) {
                while (!end && filled < buf.length) {
                    int n = in.read(buf, filled, buf.length - filled);
                    if (n < 0) end = true;
                    else filled += n;
                }
                // a path that starts before the limit has all the bytes it is judged on in the buffer
                int limit = end ? filled : filled - window;
                Optional<String> refused = scan.scan(buf, filled, base, limit);
                if (refused.isPresent()) return new Rewrite.Result.Refused(refused.get());
                if (end) break;
                System.arraycopy(buf, limit, buf, 0, filled - limit);
                base += limit;
                filled -= limit;
            }
        } catch (NoSuchFileException nsf) {
            throw notUnpacked(rel, dest, nsf);
        } catch (IOException io) {
            throw failure("read", rel, dest, io);
        }
        return scan.patches().isEmpty() ? new Rewrite.Result.Unchanged() : new Rewrite.Result.Patched(scan.patches());
    }

    /** One file's rewrite into DEST. */
    @FunctionalInterface
    private interface Write {
        void run() throws IOException;
    }

    private static void write(Write w, String rel, Path dest) {
        try {
            w.run();
        } catch (IOException io) {
            throw failure("rewrite", rel, dest, io);
        }
    }

    private static NodecastException notUnpacked(String rel, Path dest, NoSuchFileException nsf) {
        return new NodecastException(ExitCode.BUNDLE, "relocation: '" + rel + "' is in the bundle's relocation list "
                + "but was not unpacked in " + dest, nsf);
    }

    /** Each original path of the manifest and its new absolute path under dest. */
    public static List<Rewrite.Mapping> mappings(Manifest manifest, Path dest) {
        List<Rewrite.Mapping> out = new ArrayList<>();
        for (Manifest.Origin o : manifest.origins()) {
            Path to = o.target().isEmpty() ? dest : dest.resolve(o.target());
            out.add(Rewrite.Mapping.of(o.path(), to.toString()));
        }
        return Rewrite.ordered(out);
    }

    private static NodecastException failure(String what, String rel, Path dest, IOException io) {
        String msg = io.getMessage() == null ? io.toString() : io.getMessage();
        if (msg.contains("No space left on device") || msg.contains("Disk quota exceeded")) {
            return new NodecastException(ExitCode.NO_SPACE, dest + " is full (relocating '" + rel + "'): free space there or choose another -p", io);
        }
        String why = io instanceof AccessDeniedException ? "permission denied" : msg;
        return new NodecastException(ExitCode.DESTINATION, "relocation: cannot " + what + " '" + rel + "' in " + dest + ": " + why, io);
    }
}
