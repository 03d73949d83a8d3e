package io.nodecast.format;

import java.util.List;

/**
 * One member of a tar archive as the reader resolved it: long names, PAX records and sparse maps already applied.
 * Names are bytes as stored (not necessarily UTF-8); nothing here has been checked for safety yet.
 *
 * @param name      the member's path as stored
 * @param type      what it is
 * @param mode      permission bits as stored (12 bits)
 * @param size      bytes of data that follow in the archive (for a sparse file: the stored segments only)
 * @param mtime     modification time, seconds since the epoch
 * @param mtimeNano its nanoseconds (PAX only)
 * @param link      a symbolic link's target or a hard link's target member (empty otherwise)
 * @param realSize  the file's size once unpacked (differs from size for sparse files)
 * @param sparse    the data segments of a sparse file, in file order; empty for a dense one
 * @param typeFlag  the header's type byte, for messages about types read as regular files
 */
public record TarEntry(byte[] name, Type type, int mode, long size, long mtime, int mtimeNano, byte[] link,
                       long realSize, List<Segment> sparse, char typeFlag) {

    public enum Type { FILE, DIRECTORY, SYMLINK, HARDLINK, CHAR_DEVICE, BLOCK_DEVICE, FIFO }

    /** {@code length} bytes of stored data belong at {@code offset} in the unpacked file. */
    public record Segment(long offset, long length) {}

    public boolean isSparse() {
        return !sparse.isEmpty();
    }

    /** True when the header's type is none POSIX or GNU defines for a file, read as one (as POSIX and GNU tar do). */
    public boolean unknownType() {
        return type == Type.FILE && "07S".indexOf(typeFlag) < 0 && typeFlag != 0;
    }
}
