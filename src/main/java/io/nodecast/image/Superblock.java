package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The first 96 bytes of a squashfs 4.0 image: how an image is told from a tar by its first bytes, and what is
 * checked before one is mounted. A truncated or mangled image is refused here rather than handed to a FUSE daemon
 * that would fail later, inside the application, one file at a time.
 *
 * @param inodes       entries in the image
 * @param blockSize    data block size
 * @param blockLog     log2 of the block size, stored separately (they must agree)
 * @param compression  compressor id: 1 gzip, 2 lzma, 3 lzo, 4 xz, 5 lz4, 6 zstd
 * @param bytesUsed    the image's length; the file may be padded beyond it, never shorter
 */
public record Superblock(long inodes, long blockSize, int blockLog, int compression, int major, int minor, long bytesUsed,
                         long idTable, long xattrTable, long inodeTable, long directoryTable, long fragmentTable,
                         long exportTable) {

    public static final int SIZE = 96;
    private static final long ABSENT = -1L;   // 0xFFFFFFFFFFFFFFFF: an optional table that is not there
    private static final String[] COMPRESSORS = {"?", "gzip", "lzma", "lzo", "xz", "lz4", "zstd"};

    /** Whether data starting at {@code head}'s position is a squashfs image ("hsqs"); the buffer is not moved. */
    public static boolean isImage(ByteBuffer head) {
        int p = head.position();
        return head.remaining() >= 4 && head.get(p) == 'h' && head.get(p + 1) == 's' && head.get(p + 2) == 'q' && head.get(p + 3) == 's';
    }

    static Superblock parse(ByteBuffer raw) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int base = b.position();
        return new Superblock(u32(b, base + 4), u32(b, base + 12), u16(b, base + 22), u16(b, base + 20),
                u16(b, base + 28), u16(b, base + 30), b.getLong(base + 40), b.getLong(base + 48), b.getLong(base + 56),
                b.getLong(base + 64), b.getLong(base + 72), b.getLong(base + 80), b.getLong(base + 88));
    }

    /** Reads and checks the superblock of the image file; the message names {@code label}. */
    public static Superblock check(Path image, String label) {
        ByteBuffer head = ByteBuffer.allocate(SIZE);
        long size;
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            size = ch.size();
            while (head.hasRemaining() && ch.read(head) > 0) { }
        } catch (IOException e) {
            throw new NodecastException(ExitCode.BUNDLE, "cannot read the image " + image + " of " + label + ": " + e.getMessage(), e);
        }
        head.flip();
        if (!isImage(head)) throw refused(label, "it does not start with the squashfs magic 'hsqs'");
        if (head.remaining() < SIZE) throw refused(label, "it is shorter than a superblock (" + head.remaining() + " bytes)");
        Superblock s = parse(head);
        s.problem(size).ifPresent(why -> {
            throw refused(label, why);
        });
        return s;
    }

    /** Why an image of {@code fileSize} bytes with this superblock must not be mounted, or empty. */
    public Optional<String> problem(long fileSize) {
        if (major != 4 || minor != 0) return Optional.of("squashfs version " + major + "." + minor + ", not 4.0");
        if (blockSize < 4096 || blockSize > (1 << 20) || Long.bitCount(blockSize) != 1 || 1L << blockLog != blockSize) {
            return Optional.of("block size " + blockSize + " (log " + blockLog + ") is not a power of two from 4 KiB to 1 MiB");
        }
        if (compression < 1 || compression >= COMPRESSORS.length) return Optional.of("unknown compressor id " + compression);
        if (inodes < 1) return Optional.of("it holds no inodes");
        if (bytesUsed < SIZE || bytesUsed > fileSize) {
            return Optional.of("it is truncated: the superblock says " + bytesUsed + " bytes, the file has " + fileSize);
        }
        if (!(SIZE <= inodeTable && inodeTable < directoryTable && directoryTable < bytesUsed)) {
            return Optional.of("its inode and directory tables are out of place");
        }
        if (idTable < SIZE || idTable >= bytesUsed) return Optional.of("its id table is out of place");
        for (long t : new long[] {xattrTable, fragmentTable, exportTable}) {
            if (t != ABSENT && (t < SIZE || t >= bytesUsed)) return Optional.of("a lookup table lies outside the image");
        }
        return Optional.empty();
    }

    public String compressor() {
        return compression >= 1 && compression < COMPRESSORS.length ? COMPRESSORS[compression] : "?";
    }

    private static NodecastException refused(String label, String why) {
        return new NodecastException(ExitCode.BUNDLE, label + " is not a usable squashfs image: " + why + "; not mounted");
    }

    private static long u32(ByteBuffer b, int at) {
        return Integer.toUnsignedLong(b.getInt(at));
    }

    private static int u16(ByteBuffer b, int at) {
        return Short.toUnsignedInt(b.getShort(at));
    }
}
