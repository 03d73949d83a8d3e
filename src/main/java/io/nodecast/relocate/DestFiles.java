package io.nodecast.relocate;

import java.io.Closeable;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The only file operations relocation makes inside DEST, by path relative to it. An implementation must
 * never follow a symbolic link, in any component: the paths come from the bundle, and a link planted by an
 * earlier bundle must not take a rewrite outside DEST. The extractor's ContainedFiles does it by construction
 * (openat2 with RESOLVE_BENEATH, over the same name rules as the members); the tests' NioDestFiles with lstat checks.
 */
public interface DestFiles {
    /** A file as the kernel knows it: two names with the same identity are one file (a hard link). */
    record FileId(long device, long inode) {}

    /**
     * The identity of the regular file at {@code rel}, never through a link; empty when nothing, or something other
     * than a regular file, is there. An implementation that cannot tell returns empty: every listed file is then
     * relocated from DEST.
     */
    default Optional<FileId> id(String rel) throws IOException {
        return Optional.empty();
    }

    /**
     * The contents of the regular file at {@code rel}.
     *
     * @param rel      '/'-separated, normalized, relative to DEST
     * @param maxBytes a file larger than this is an error, not a partial read
     * @throws java.nio.file.NoSuchFileException if there is nothing at rel
     * @throws IOException                       if it is not a regular file, is too large, or cannot be read
     */
    byte[] read(String rel, int maxBytes) throws IOException;

    /**
     * Replaces the regular file at {@code rel} by {@code content}: a new file written beside it, given the old
     * one's mode and times, then renamed over it. Never writes into the old file, so a program running from it
     * is untouched ("text file busy" cannot happen) and a failure leaves the old file whole, with no temporary
     * file left. The directory may be read-only (a bundle's 0555 directory, its mode already applied after the
     * unpack): it is made writable for the rename and given its mode back.
     */
    void replace(String rel, byte[] content) throws IOException;

    /**
     * The regular file at {@code rel}, open for reading from its start, with the same checks as {@link #read} but
     * no size limit: a binary is scanned in pieces.
     *
     * @throws java.nio.file.NoSuchFileException if there is nothing at rel
     */
    Reader open(String rel) throws IOException;

    /** A file of DEST, read in order. */
    interface Reader extends Closeable {
        /** Up to {@code len} bytes into {@code into} at {@code off}; -1 at the end of the file. */
        int read(byte[] into, int off, int len) throws IOException;
    }

    /**
     * Replaces the regular file at {@code rel}, as {@link #replace} does, by a copy of itself with the patches
     * written over it: a binary relocated without holding it in memory.
     */
    void patch(String rel, List<Rewrite.Patch> patches) throws IOException;
}
