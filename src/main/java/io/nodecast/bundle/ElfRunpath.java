package io.nodecast.bundle;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites absolute RPATH/RUNPATH entries that point into the bundled prefix as {@code $ORIGIN}-relative ones.
 *
 * <p>Why: the dynamic loader searches RUNPATH after LD_LIBRARY_PATH for every library not found there
 * (libc, libm, ...), so an interpreter built with {@code -rpath /shared/prefix/lib} keeps probing the shared
 * file system from the node-local copy. The new string is never longer than the old one, so it is patched
 * in place, NUL-padded, as conda's binary prefix replacement does. 64-bit little-endian ELF only.
 */
public final class ElfRunpath {
    private static final int PT_LOAD = 1, PT_DYNAMIC = 2;
    private static final long DT_NULL = 0, DT_STRTAB = 5, DT_RPATH = 15, DT_RUNPATH = 29;

    private ElfRunpath() {}

    public static boolean isElf(byte[] head, int length) {
        return length >= 4 && head[0] == 0x7F && head[1] == 'E' && head[2] == 'L' && head[3] == 'F';
    }

    /**
     * @param data     the whole file, patched in place
     * @param prefix   the absolute prefix being bundled
     * @param relative the file's path relative to the prefix
     * @return true if anything changed
     */
    public static boolean relocate(byte[] data, Path prefix, Path relative) {
        if (data.length < 64 || !isElf(data, data.length) || data[4] != 2 || data[5] != 1) return false;
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36));
        int phnum = Short.toUnsignedInt(b.getShort(0x38));
        long dynOff = -1, dynSize = 0;
        List<long[]> loads = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            long p = phoff + (long) i * phentsize;
            if (p + 56 > data.length) return false;
            int type = b.getInt((int) p);
            if (type == PT_DYNAMIC) {
                dynOff = b.getLong((int) p + 8);
                dynSize = b.getLong((int) p + 32);
            } else if (type == PT_LOAD) {
                loads.add(new long[] {b.getLong((int) p + 8), b.getLong((int) p + 16), b.getLong((int) p + 32)});
            }
        }
        if (dynOff < 0 || dynOff + dynSize > data.length) return false;
        long strtabAddr = -1;
        List<Long> pathOffsets = new ArrayList<>();
        for (long d = dynOff; d + 16 <= dynOff + dynSize; d += 16) {
            long tag = b.getLong((int) d);
            long val = b.getLong((int) d + 8);
            if (tag == DT_NULL) break;
            if (tag == DT_STRTAB) strtabAddr = val;
            if (tag == DT_RPATH || tag == DT_RUNPATH) pathOffsets.add(val);
        }
        if (strtabAddr < 0 || pathOffsets.isEmpty()) return false;
        long strtab = -1;
        for (long[] l : loads) {
            if (strtabAddr >= l[1] && strtabAddr < l[1] + l[2]) strtab = strtabAddr - l[1] + l[0];
        }
        if (strtab < 0) return false;
        boolean changed = false;
        for (long off : pathOffsets) {
            int start = (int) (strtab + off);
            int end = start;
            while (end < data.length && data[end] != 0) end++;
            String old = new String(data, start, end - start, StandardCharsets.UTF_8);
            String updated = rewrite(old, prefix, relative);
            byte[] bytes = updated.getBytes(StandardCharsets.UTF_8);
            if (updated.equals(old) || bytes.length > end - start) continue;
            System.arraycopy(bytes, 0, data, start, bytes.length);
            for (int i = start + bytes.length; i < end; i++) data[i] = 0;
            changed = true;
        }
        return changed;
    }

    static String rewrite(String searchPath, Path prefix, Path relative) {
        Path dir = relative.getParent() == null ? Path.of("") : relative.getParent();
        List<String> out = new ArrayList<>();
        for (String element : searchPath.split(":", -1)) {
            Path p = element.startsWith("/") ? Path.of(element).normalize() : null;
            if (p != null && p.startsWith(prefix)) {
                String rel = dir.relativize(prefix.relativize(p)).toString();
                out.add(rel.isEmpty() ? "$ORIGIN" : "$ORIGIN/" + rel);
            } else {
                out.add(element);
            }
        }
        return String.join(":", out);
    }
}
