package io.nodecast.relocate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Points an unpacked bundle at where it now is: every file its {@link Manifest} lists is rewritten from the
 * original paths to DEST, on each node before the bundle is marked complete, so delivering the same bundle to
 * another DEST relocates afresh. The extractor relocates most files as it writes them ({@link Relocation}); what
 * is already at DEST (a squashfs image's files) is relocated there, by {@link #afterUnpack}.
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
     * bundle is marked complete. A {@link io.nodecast.core.NodecastException} from here fails the bundle on this node like any
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

    /** Relocates every listed file from DEST, after it was unpacked there (or mounted from an image). */
    public static Outcome apply(Manifest manifest, Path dest, DestFiles files) {
        return new Relocation(manifest, dest).finish(files);
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
}
