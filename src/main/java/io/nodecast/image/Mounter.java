package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.posix.Identity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The two ways a node mounts images: as the user through FUSE (squashfuse_ll for each image, fuse-overlayfs to stack
 * them under a writable directory), or as root with the kernel's own squashfs (on a loop device) and overlayfs.
 */
enum Mounter {
    FUSE, KERNEL;

    static final Path FUSE_DEVICE = Path.of("/dev/fuse");

    static Mounter of(ImageMode mode) {
        return mode == ImageMode.KERNEL ? KERNEL : FUSE;
    }

    /** What this node lacks to mount images this way, each named as the user must read it; empty when nothing. */
    List<String> missing() {
        List<String> out = new ArrayList<>();
        boolean root = Identity.current().root();
        switch (this) {
            case FUSE -> {
                if (Tools.find("squashfuse_ll").isEmpty()) out.add("squashfuse_ll is not installed (Debian package squashfuse)");
                if (Tools.find("fuse-overlayfs").isEmpty()) out.add("fuse-overlayfs is not installed (Debian package fuse-overlayfs)");
                if (!root && Tools.find("fusermount3").isEmpty()) out.add("fusermount3 is not installed (Debian package fuse3)");
                if (!Files.exists(FUSE_DEVICE, LinkOption.NOFOLLOW_LINKS)) {
                    out.add("there is no FUSE device " + FUSE_DEVICE);
                } else if (!isCharacterDevice(FUSE_DEVICE)) {
                    out.add(FUSE_DEVICE + " is not a character device");
                } else if (!Files.isReadable(FUSE_DEVICE) || !Files.isWritable(FUSE_DEVICE)) {
                    out.add("the FUSE device " + FUSE_DEVICE + " is not open to this user");
                }
            }
            case KERNEL -> {
                if (!root) out.add("the kernel's mounts need root (--mode image mounts as a user)");
                if (!Files.exists(Path.of("/dev/loop-control"))) out.add("there are no loop devices (/dev/loop-control)");
                if (Tools.find("mount").isEmpty() || Tools.find("umount").isEmpty()) out.add("mount and umount are not installed");
                try {
                    String fs = Files.readString(Path.of("/proc/filesystems"));
                    if (!fs.contains("\tsquashfs")) out.add("the kernel has no squashfs file system");
                    if (!fs.contains("\toverlay")) out.add("the kernel has no overlay file system");
                } catch (IOException e) {
                    out.add("cannot read /proc/filesystems");
                }
            }
        }
        return out;
    }

    void mountImage(Path image, Path at) {
        List<String> cmd = switch (this) {
            // squashfuse_ll, the low-level one: found by inode, not by path; under fuse-overlayfs the first import of
            // scipy took half the time of squashfuse's. auto_unmount: fusermount3 stays beside the daemon and
            // unmounts if it is killed, so no dead mount is left
            case FUSE -> List.of(Tools.require("squashfuse_ll", "squashfuse").toString(), "-o", "ro,auto_unmount",
                    image.toString(), at.toString());
            case KERNEL -> List.of("mount", "-t", "squashfs", "-o", "loop,ro,nodev,nosuid", image.toString(), at.toString());
        };
        check(Tools.run(cmd), "mount " + image + " at " + at);
    }

    /**
     * @param lowerTopFirst the read-only layers, the one that wins first
     * @param ids           owner shown for the image's files: the images hold uid 0; a user must be able to
     *                      replace what they hold (fuse-overlayfs only; as root nothing is squashed)
     */
    void mountOverlay(List<Path> lowerTopFirst, Path upper, Path work, Path at, Identity ids) {
        for (Path p : concat(lowerTopFirst, List.of(upper, work))) {
            if (p.toString().contains(",") || p.toString().contains(":")) {
                throw new NodecastException(ExitCode.DESTINATION, "cannot stack images at " + at + ": the path " + p
                        + " holds ',' or ':', which the overlay's options cannot carry; choose another -p");
            }
        }
        String lowers = lowerTopFirst.stream().map(Path::toString).collect(Collectors.joining(":"));
        String opts = "lowerdir=" + lowers + ",upperdir=" + upper + ",workdir=" + work;
        List<String> cmd = switch (this) {
            case FUSE -> List.of(Tools.require("fuse-overlayfs", "fuse-overlayfs").toString(), "-o",
                    opts + (ids.root() ? "" : ",squash_to_uid=" + ids.uid() + ",squash_to_gid=" + ids.gid()), at.toString());
            case KERNEL -> List.of("mount", "-t", "overlay", "overlay", "-o", opts + ",nodev,nosuid", at.toString());
        };
        check(Tools.run(cmd), "stack the images at " + at);
    }

    /** Unmounts one mount of either kind; lazily detaches it when it is busy or its daemon is gone. */
    static Tools.Result unmount(MountTable.Mount m, boolean lazy) {
        boolean useFusermount = m.fuse() && Tools.find("fusermount3").isPresent();
        List<String> cmd = new ArrayList<>(useFusermount ? List.of(Tools.find("fusermount3").get().toString(), "-u")
                : List.of("umount"));
        if (lazy) cmd.add(useFusermount ? "-z" : "-l");
        cmd.add(m.point().toString());
        return Tools.run(cmd);
    }

    private static void check(Tools.Result r, String what) {
        if (!r.ok()) {
            throw new NodecastException(ExitCode.TOOL, "cannot " + what + ": " + (r.error().isEmpty() ? "exit code " + r.exit() : r.error()));
        }
    }

    private static boolean isCharacterDevice(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & 0170000) == 0020000;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static List<Path> concat(List<Path> a, List<Path> b) {
        List<Path> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
