package io.nodecast.image;

import java.util.Locale;

/** What a node does with a squashfs image it received ({@code bcast --mode}). Tar bundles are always unpacked. */
public enum ImageMode {
    /** Mount it read-only with squashfuse_ll, under fuse-overlayfs, as the user; a node that cannot, fails. */
    IMAGE,
    /** Mount it with the kernel's squashfs (a loop device) under the kernel's overlayfs: needs root. */
    KERNEL,
    /** Unpack it into DEST like a tar bundle. */
    UNPACK,
    /** Mount it where the node can (squashfuse_ll), unpack it where it cannot. */
    AUTO;

    public static ImageMode parse(String s) {
        try {
            return valueOf(s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--mode: image, kernel, unpack or auto, not '" + s + "'");
        }
    }

    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
