package io.nodecast.bundle;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.relocate.Manifest;
import io.nodecast.relocate.Relocator;
import io.nodecast.relocate.Rewrite;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Finds, before a bundle is written, the files that name one of its original paths, and how each is to be
 * rewritten at unpack: the bundle's relocation list, which has to be its first entry.
 *
 * <p>Text (no NUL byte) is rewritten whole, scripts with a "#!" line naming an original path get their
 * interpreter line rebuilt, ELF files and ar archives get their C strings patched. Other binaries that name
 * an original path are left alone and named; Python bytecode is skipped without a word, because the import
 * system replaces the source path a .pyc records with the one it loaded it from.
 */
public final class RelocationScan {
    private static final int CHUNK = 1 << 20;
    private static final int ELF_RELOCATE_MAX = 512 << 20;

    private RelocationScan() {}

    /** @param notes one line each for -v: files that name an original path but cannot be relocated */
    public record Result(Manifest manifest, List<String> notes) {}

    /**
     * The relocation list a bundle of {@code spec} carries, for bundle formats other than tar (images): the same
     * walk, link rules and scan as {@link BundleWriter}.
     */
    public static Result of(BundleSpec spec, int workers) throws IOException {
        return of(spec, BundlePlan.of(spec, Map.of()), workers);
    }

    private record Found(Optional<Manifest.Kind> kind, Optional<String> note) {
        static final Found NONE = new Found(Optional.empty(), Optional.empty());
    }

    static Result of(BundleSpec spec, BundlePlan plan, int workers) throws IOException {
        if (spec.origins().isEmpty()) return new Result(Manifest.empty(), List.of());
        // one search for every file: its tables are built once
        Rewrite.Finder finder = new Rewrite.Finder(Rewrite.ordered(spec.origins().stream()
                .map(o -> Rewrite.Mapping.of(o.path(), o.path())).toList()));
        List<BundlePlan.Item.File> files = new ArrayList<>();
        for (BundlePlan.Item i : plan.items()) {
            if (i instanceof BundlePlan.Item.File f && !f.name().endsWith(".pyc") && !plan.isOverlay(f.source())) files.add(f);
        }
        Map<String, Found> found = new HashMap<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, workers), Thread.ofPlatform().name("nodecast-scan").daemon().factory())) {
            List<Future<Found>> futures = new ArrayList<>();
            for (BundlePlan.Item.File f : files) futures.add(pool.submit(() -> scan(f, finder, spec, plan)));
            for (int i = 0; i < files.size(); i++) found.put(files.get(i).name(), futures.get(i).get());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            if (e.getCause() instanceof UncheckedIOException u) throw u.getCause();
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
        }
        List<Manifest.Entry> entries = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (BundlePlan.Item i : plan.items()) {
            // every name of a hard-linked file is listed: a rename replaces one name, not the inode behind both
            String name = i instanceof BundlePlan.Item.HardLink h ? h.first() : i.name();
            Found f = found.get(name);
            if (f == null || !(i instanceof BundlePlan.Item.File || i instanceof BundlePlan.Item.HardLink)) continue;
            f.kind().ifPresent(k -> entries.add(new Manifest.Entry(k, i.name())));
            if (i instanceof BundlePlan.Item.File) f.note().ifPresent(n -> notes.add(i.name() + ": " + n));
        }
        return new Result(new Manifest(spec.origins(), entries), notes);
    }

    private static Found scan(BundlePlan.Item.File f, Rewrite.Finder finder, BundleSpec spec, BundlePlan plan) throws IOException {
        Scanned s = f.patched() != null ? Scanned.of(f.patched(), finder) : Scanned.of(f.source(), finder);
        if (!s.found) return Found.NONE;
        if (f.size() > Relocator.MAX_FILE_BYTES) {
            return new Found(Optional.empty(), Optional.of("names an original path but is over " + (Relocator.MAX_FILE_BYTES >> 20)
                    + " MiB; not relocated"));
        }
        if (!s.nul) return new Found(Optional.of(s.shebang ? Manifest.Kind.SHEBANG : Manifest.Kind.TEXT), Optional.empty());
        if (s.elf) {
            if (spec.relocateElf() && f.size() <= ELF_RELOCATE_MAX && f.patched() == null) {
                // the bundle carries the file with its RUNPATH already made relative: look at those bytes
                byte[] all = Files.readAllBytes(f.source());
                ElfRunpath.relocate(all, spec.root(), Path.of(f.name()));
                if (finder.find(all, 0, all.length) < 0) return Found.NONE;
            }
            return new Found(Optional.of(Manifest.Kind.CSTRING), Optional.empty());
        }
        if (s.ar) return new Found(Optional.of(Manifest.Kind.CSTRING), Optional.empty());
        return new Found(Optional.empty(), Optional.of("names an original path inside a binary format nodecast does not rewrite; not relocated"));
    }

    /** One pass over a file: does it name an original path, has it a NUL byte, how does it start. */
    private record Scanned(boolean found, boolean nul, boolean shebang, boolean elf, boolean ar) {
        static Scanned of(byte[] all, Rewrite.Finder finder) {
            return new Scanned(finder.find(all, 0, all.length) >= 0, indexOfNul(all, 0, all.length) >= 0,
                    startsWith(all, all.length, "#!"), ElfRunpath.isElf(all, all.length), startsWith(all, all.length, "!<arch>\n"));
        }

        static Scanned of(Path source, Rewrite.Finder finder) throws IOException {
            int keep = finder.mappings().getFirst().from().length + 1;  // the longest match and the byte that ends it
            byte[] buf = new byte[CHUNK + keep];
            boolean found = false, nul = false, eof = false, first = true;
            boolean shebang = false, elf = false, ar = false;
            int have = 0;
            try (InputStream in = Files.newInputStream(source, LinkOption.NOFOLLOW_LINKS)) {
                while (!eof) {
                    int n = in.readNBytes(buf, have, buf.length - have);
                    have += n;
                    eof = have < buf.length;
                    if (first) {
                        shebang = startsWith(buf, have, "#!");
                        elf = ElfRunpath.isElf(buf, have);
                        ar = startsWith(buf, have, "!<arch>\n");
                        first = false;
                    }
                    int limit = eof ? have : have - keep;
                    if (!nul) nul = indexOfNul(buf, 0, limit) >= 0;
                    if (!found) {
                        int at = finder.find(buf, 0, have);
                        found = at >= 0 && at < limit;
                    }
                    if (found && nul) break;
                    System.arraycopy(buf, limit, buf, 0, have - limit);
                    have -= limit;
                }
            }
            return new Scanned(found, nul, shebang, elf, ar);
        }

        private static int indexOfNul(byte[] b, int from, int to) {
            for (int i = from; i < to; i++) if (b[i] == 0) return i;
            return -1;
        }

        private static boolean startsWith(byte[] b, int length, String magic) {
            if (length < magic.length()) return false;
            for (int i = 0; i < magic.length(); i++) if (b[i] != magic.charAt(i)) return false;
            return true;
        }
    }
}
