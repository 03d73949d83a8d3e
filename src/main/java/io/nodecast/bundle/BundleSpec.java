package io.nodecast.bundle;

import io.nodecast.relocate.Manifest;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What goes into one bundle.
 *
 * @param root        the tree whose contents become the bundle's top level
 * @param members     paths under root to include (all of root when empty); missing ones are skipped
 * @param excludes    what to leave out
 * @param pyc         what to do with Python bytecode
 * @param relocateElf rewrite RUNPATHs that point into root as $ORIGIN-relative (tier-1 prefixes)
 * @param grafts      more trees, each placed at a path of its own in the bundle (R's share and library
 *                    directories under its home); parents that no tree provides are made
 * @param origins     the absolute paths the bundle's files may name and where each lands in DEST: files naming
 *                    them are listed in the bundle's relocation list and rewritten at unpack. Empty: the bundle
 *                    is not relocated (its list is empty)
 * @param patched     files whose bytes the bundle carries instead of the source's (by path in the bundle)
 */
public record BundleSpec(Path root, List<Path> members, Excludes excludes, PycMode pyc, boolean relocateElf,
                         List<Graft> grafts, List<Manifest.Origin> origins, Map<Path, byte[]> patched) {
    public BundleSpec {
        members = List.copyOf(members);
        grafts = List.copyOf(grafts);
        origins = List.copyOf(origins);
        patched = Map.copyOf(patched);
    }

    /** A tree without grafts, relocation or patches (tier 3, mirror). */
    public BundleSpec(Path root, List<Path> members, Excludes excludes, PycMode pyc, boolean relocateElf) {
        this(root, members, excludes, pyc, relocateElf, List.of(), List.of(), Map.of());
    }

    public BundleSpec withRelocation(List<Manifest.Origin> origins) {
        return new BundleSpec(root, members, excludes, pyc, relocateElf, grafts, origins, patched);
    }

    /** @param source a directory (its real path is used); @param at where its contents go in the bundle */
    public record Graft(Path source, Path at) {}
}
