package io.nodecast.delivery;

import java.nio.file.Path;
import java.util.List;

/** A bundle as rank 0 is asked to deliver it. */
public sealed interface BundleRef {
    String label();

    /** A bundle file on a shared file system. */
    record File(Path path) implements BundleRef {
        @Override
        public String label() {
            return path.toString();
        }
    }

    /** A tree bundled by rank 0 at delivery time (tier 3, {@code mirror}); refused above maxBytes. */
    record Tree(Path root, List<Path> members, long maxBytes) implements BundleRef {
        public Tree {
            members = List.copyOf(members);
        }

        @Override
        public String label() {
            return root + (members.isEmpty() ? "" : " " + members);
        }
    }
}
