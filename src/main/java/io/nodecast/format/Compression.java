package io.nodecast.format;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The compressions a bundle may use. On reading, the format is told by the first bytes, never by the
 * file name, so bundles renamed by hand or made by the paper's tar scripts still unpack.
 */
public enum Compression {
    ZSTD(".tar.zst"),
    GZIP(".tar.gz"),
    BZIP2(".tar.bz2"),
    XZ(".tar.xz"),
    NONE(".tar");

    /** Bytes needed by {@link #detect}: the tar magic sits at offset 257. */
    public static final int PROBE_BYTES = 512;

    private final String suffix;

    Compression(String suffix) {
        this.suffix = suffix;
    }

    public String suffix() {
        return suffix;
    }

    /** The compression chosen by an output file name; .tar.zst when the name says nothing. */
    public static Compression forFileName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.endsWith(".tar.gz") || n.endsWith(".tgz")) return GZIP;
        if (n.endsWith(".tar.bz2") || n.endsWith(".tbz2")) return BZIP2;
        if (n.endsWith(".tar.xz") || n.endsWith(".txz")) return XZ;
        if (n.endsWith(".tar")) return NONE;
        return ZSTD;
    }

    /** The compression of data starting with {@code head}, or null when it is not a bundle at all. */
    public static Compression detect(byte[] head, int length) {
        if (startsWith(head, length, 0x28, 0xB5, 0x2F, 0xFD)) return ZSTD;
        if (startsWith(head, length, 0x1F, 0x8B)) return GZIP;
        if (startsWith(head, length, 'B', 'Z', 'h')) return BZIP2;
        if (startsWith(head, length, 0xFD, '7', 'z', 'X', 'Z', 0x00)) return XZ;
        if (length >= 262 && head[257] == 'u' && head[258] == 's' && head[259] == 't'
                && head[260] == 'a' && head[261] == 'r') return NONE;
        // old-style (v7) tar has no magic: accept a header whose checksum adds up; an empty archive is all zeros
        if (length >= 512 && (v7ChecksumMatches(head) || allZero(head))) return NONE;
        return null;
    }

    public InputStream decompress(InputStream in) throws IOException {
        return switch (this) {
            case ZSTD -> new ZstdInputStreamNoFinalizer(in);
            case GZIP -> new GZIPInputStream(in, 1 << 16);
            case BZIP2 -> new BZip2CompressorInputStream(in, true);
            case XZ -> new XZCompressorInputStream(in, true);
            case NONE -> in;
        };
    }

    /** @param level compression level, or 0 for the format's default; workers used by zstd only */
    public OutputStream compress(OutputStream out, int level, int workers) throws IOException {
        return switch (this) {
            case ZSTD -> {
                ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(out, level == 0 ? 3 : level);
                if (workers > 1) z.setWorkers(workers);
                z.setChecksum(true);
                yield z;
            }
            case GZIP -> new GZIPOutputStream(out, 1 << 16) {
                { def.setLevel(level == 0 ? 6 : level); }
            };
            case BZIP2 -> new BZip2CompressorOutputStream(out, level == 0 ? 9 : level);
            case XZ -> new XZCompressorOutputStream(out, level == 0 ? 6 : level);
            case NONE -> out;
        };
    }

    private static boolean startsWith(byte[] head, int length, int... magic) {
        if (length < magic.length) return false;
        for (int i = 0; i < magic.length; i++) {
            if ((head[i] & 0xFF) != magic[i]) return false;
        }
        return true;
    }

    private static boolean allZero(byte[] h) {
        for (int i = 0; i < 512; i++) if (h[i] != 0) return false;
        return true;
    }

    private static boolean v7ChecksumMatches(byte[] h) {
        String field = new String(Arrays.copyOfRange(h, 148, 156), java.nio.charset.StandardCharsets.US_ASCII)
                .replace('\0', ' ').strip();
        if (field.isEmpty()) return false;
        long stored;
        try {
            stored = Long.parseLong(field, 8);
        } catch (NumberFormatException e) {
            return false;
        }
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xFF);
        return sum == stored && h[0] != 0;
    }
}
