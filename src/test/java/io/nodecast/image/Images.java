package io.nodecast.image;

import io.nodecast.testing.Launcher;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What the image tests need from the machine, and the clean-up that keeps a failed test from leaving mounts. */
final class Images {
    private Images() {}

    static void assumeTools() {
        for (String t : List.of("tar2sqfs", "sqfs2tar")) {
            assumeTrue(Tools.find(t).isPresent(), t + " is not installed (Debian package squashfs-tools-ng)");
        }
    }

    static void assumeFuse() {
        assumeTools();
        List<String> missing = Mounter.FUSE.missing();
        assumeTrue(missing.isEmpty(), "cannot mount images here: " + missing);
    }

    /** The mount points at or under {@code dir}, deepest first. */
    static List<Path> mountsUnder(Path dir) {
        return MountTable.under(dir, dir).stream().map(MountTable.Mount::point).toList();
    }

    /** Detaches whatever a test left mounted under dir, so that its temporary directory can be deleted safely. */
    static void detachAll(Path dir) {
        for (MountTable.Mount m : MountTable.under(dir, dir)) Mounter.unmount(m, true);
    }

    /** PIDs of the processes whose command line names {@code path} (the FUSE daemons serving a mount there). */
    static List<Long> daemonsOf(Path path) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains(path.toString())).orElse(false))
                .filter(p -> p.info().command().map(c -> c.contains("squashfuse") || c.contains("fuse-overlayfs")
                        || c.contains("fusermount")).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    static void kill(List<Long> pids) {
        for (long p : pids) Launcher.exec(List.of("kill", "-KILL", Long.toString(p)), Map.of());
    }
}
