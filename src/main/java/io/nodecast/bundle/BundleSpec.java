package io.nodecast.bundle;

import java.nio.file.Path;
import java.util.List;

/**
 * What goes into one bundle.
 *
 * @param root        the tree whose contents become the bundle's top level
 * @param members     paths under root to include (all of root when empty); missing ones are skipped
 * @param excludes    what to leave out
 * @param pyc         what to do with Python bytecode
 * @param relocateElf rewrite RUNPATHs that point into root as $ORIGIN-relative (tier-1 prefixes)
 */
public record BundleSpec(Path root, List<Path> members, Excludes excludes, PycMode pyc, boolean relocateElf) {
    public BundleSpec {
        members = List.copyOf(members);
    }
}
