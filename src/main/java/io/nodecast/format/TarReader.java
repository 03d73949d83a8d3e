package io.nodecast.format;

import io.nodecast.posix.Names;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads tar archives as GNU tar does: ustar, GNU (long names and links, old sparse, incremental directories) and
 * POSIX pax (per-file and global records, sparse 0.0, 0.1 and 1.0), v7 and star. File data is not copied: it is
 * handed out as slices of the decompressed blocks ({@link #data}).
 *
 * <p>Every length read from the archive is checked against {@link Limits} before anything is allocated, and every
 * error names the member and the byte offset in the tar stream. Safety of names is not checked here; that is the
 * unpacker's job (a name here is whatever the archive says).
 */
public final class TarReader implements AutoCloseable {

    /** Bounds no real archive reaches; a header claiming more is refused before allocation. */
    public record Limits(int maxName, int maxPaxHeader, int maxSparseSegments) {
        public static final Limits DEFAULT = new Limits(64 << 10, 8 << 20, 1 << 20);
    }

    /** File data in place: {@code length} bytes at {@code offset} of {@code block}, held once for the receiver. */
    public record Slice(Block block, int offset, int length) {
        public MemorySegment segment() {
            return block.segment().asSlice(offset, length);
        }
    }

    private static final int BLOCK = 512;

    private final BlockSource source;
    private final Limits limits;
    private final String label;
    private final byte[] header = new byte[BLOCK];
    private final Map<String, byte[]> global = new HashMap<>();
    private Block cur;
    private int pos;
    private long offset;        // of the next unread byte in the tar stream
    private long dataLeft;      // of the current member
    private long padLeft;
    private boolean ended;
    private byte[] current = new byte[0];

    public TarReader(BlockSource source, Limits limits, String label) {
        this.source = source;
        this.limits = limits;
        this.label = label;
    }

    /** The member being read, for messages ("" before the first). */
    public String currentName() {
        return Names.show(current);
    }

    /** The member being read, as stored. */
    public byte[] currentRawName() {
        return current;
    }

    /** Byte offset in the tar stream of the next unread byte. */
    public long offset() {
        return offset;
    }

    /** The next member, its metadata records applied; null after the end-of-archive marker or at the stream's end. */
    public TarEntry next() throws IOException {
        skip(dataLeft + padLeft);
        dataLeft = padLeft = 0;
        if (ended) return null;
        byte[] longName = null;
        byte[] longLink = null;
        Pax pax = null;
        while (true) {
            long at = offset;
            if (!readHeader() || allZero(header)) {
                // an extended header with no member after it describes nothing; GNU tar ignores it too
                ended = true;
                return null;
            }
            checkChecksum(at);
            char type = (char) (header[156] & 0xFF);
            long size = number(124, 12, "size", at);
            if (size < 0) throw bad("a header gives a negative size (" + size + ")", at);
            switch (type) {
                case 'L' -> {
                    longName = cString(readMeta(size, limits.maxName(), "GNU long name", at));
                    continue;
                }
                case 'K' -> {
                    longLink = cString(readMeta(size, limits.maxName(), "GNU long link name", at));
                    continue;
                }
                case 'x', 'X' -> {
                    // several in a row: the last one is the member's, as GNU tar and Go's archive/tar read them
                    pax = Pax.parse(readMeta(size, limits.maxPaxHeader(), "pax header", at), null, this, at);
                    continue;
                }
                case 'g' -> {
                    Pax g = Pax.parse(readMeta(size, limits.maxPaxHeader(), "pax global header", at), null, this, at);
                    global.putAll(g.values);
                    continue;
                }
                case 'V' -> {   // a volume label names the archive, not a member
                    skip(size + pad(size));
                    continue;
                }
                case 'M' -> throw bad("the member continues a file from a previous volume of a multi-volume archive; "
                        + "nodecast reads single-volume bundles", at);
                default -> {
                    return member(type, size, longName, longLink, pax, at);
                }
            }
        }
    }

    private TarEntry member(char type, long size, byte[] longName, byte[] longLink, Pax pax, long at) throws IOException {
        Map<String, byte[]> rec = new HashMap<>(global);
        if (pax != null) rec.putAll(pax.values);

        byte[] name;
        if (rec.containsKey("GNU.sparse.name")) name = rec.get("GNU.sparse.name");
        else if (rec.containsKey("path")) name = rec.get("path");
        else if (longName != null) name = longName;
        else name = headerName();
        current = name;

        byte[] link = rec.containsKey("linkpath") ? rec.get("linkpath")
                : longLink != null ? longLink : cString(Arrays.copyOfRange(header, 157, 257));
        int mode = (int) (number(100, 8, "mode", at) & 07777);
        long mtime = number(136, 12, "mtime", at);
        int mtimeNano = 0;
        if (rec.containsKey("mtime")) {
            long[] t = Pax.time(rec.get("mtime"));
            if (t != null) {   // a malformed time: GNU tar warns and keeps the header's; so do we
                mtime = t[0];
                mtimeNano = (int) t[1];
            }
        }
        if (rec.containsKey("size")) size = Pax.number(rec.get("size"), "size", this, at);
        number(108, 8, "uid", at);   // checked for corruption only: files belong to whoever unpacks them
        number(116, 8, "gid", at);

        TarEntry.Type kind = switch (type) {
            case '1' -> TarEntry.Type.HARDLINK;
            case '2' -> TarEntry.Type.SYMLINK;
            case '3' -> TarEntry.Type.CHAR_DEVICE;
            case '4' -> TarEntry.Type.BLOCK_DEVICE;
            case '5', 'D' -> TarEntry.Type.DIRECTORY;   // 'D': a GNU incremental dump's directory, its listing as data
            case '6' -> TarEntry.Type.FIFO;
            default -> TarEntry.Type.FILE;               // '0', '\0', '7', 'S', and unknown types, as POSIX says
        };
        if (type == 0 && name.length > 0 && name[name.length - 1] == '/') kind = TarEntry.Type.DIRECTORY;  // v7

        long realSize = size;
        List<TarEntry.Segment> sparse = List.of();
        boolean sparseFile = false;
        boolean mapInData = false;
        if (type == 'S') {
            sparseFile = true;
            realSize = number(483, 12, "real size", at);
            sparse = oldGnuSparse(at);
        } else if (kind == TarEntry.Type.FILE && (rec.containsKey("GNU.sparse.major") || rec.containsKey("GNU.sparse.map")
                || rec.containsKey("GNU.sparse.offset") || rec.containsKey("GNU.sparse.size"))) {
            sparseFile = true;
            byte[] rs = rec.containsKey("GNU.sparse.realsize") ? rec.get("GNU.sparse.realsize") : rec.get("GNU.sparse.size");
            if (rs == null) throw bad("a sparse member has no real size", at);
            realSize = Pax.number(rs, "GNU.sparse.size", this, at);
            if (rec.containsKey("GNU.sparse.major") && new String(rec.get("GNU.sparse.major"), StandardCharsets.US_ASCII).equals("1")) {
                mapInData = true;
                dataLeft = size;   // the 1.0 map is the start of the data
                padLeft = pad(size);
                sparse = sparseMap10(at);
                size = dataLeft;
            } else if (rec.containsKey("GNU.sparse.map")) {
                sparse = Pax.pairs(rec.get("GNU.sparse.map"), limits.maxSparseSegments(), this, at);
            } else {
                sparse = pax == null ? List.of() : pax.sparse00;
            }
        }
        if (sparseFile) {
            if (sparse.isEmpty()) sparse = List.of(new TarEntry.Segment(realSize, 0));   // all hole
            checkSparse(sparse, size, realSize, at);
        }

        boolean hasData = kind == TarEntry.Type.FILE || (kind == TarEntry.Type.DIRECTORY && type == 'D');
        if (!hasData && size > 0 && nextIsHeader()) {
            // links, directories, devices store no data; GNU tar ignores a size field that says otherwise, and so do
            // we when a header follows. When data really follows (a pax hard link may carry it), it is skipped.
            size = 0;
        }
        if (!mapInData) {
            dataLeft = size;
            padLeft = pad(size);
        }
        if (!hasData || type == 'D') {
            skip(dataLeft + padLeft);   // a dumpdir's listing, or stray bytes: nothing to unpack
            dataLeft = padLeft = 0;
            size = 0;
        }
        if (kind != TarEntry.Type.FILE) realSize = 0;
        return new TarEntry(name, kind, mode, size, mtime, mtimeNano, link, realSize, sparse, type);
    }

    /**
     * The next piece of the current member's data, at most {@code max} bytes, without copying; null when all of it
     * has been handed out. The slice holds its block until {@code slice.block().release()}.
     */
    public Slice data(int max) throws IOException {
        if (dataLeft == 0) return null;
        if (!fill()) throw truncated();
        int n = (int) Math.min(Math.min(max, dataLeft), cur.length - pos);
        Slice s = new Slice(cur, pos, n);
        cur.retain();
        pos += n;
        offset += n;
        dataLeft -= n;
        return s;
    }

    /** Bytes of the current member's data not yet handed out. */
    public long dataLeft() {
        return dataLeft;
    }

    /** Reads the rest of the stream after the end-of-archive marker, so the decompressor checks its frame. */
    public void drain() throws IOException {
        skip(dataLeft + padLeft);
        dataLeft = padLeft = 0;
        while (fill()) {
            offset += cur.length - pos;
            pos = cur.length;
        }
    }

    @Override
    public void close() {
        if (cur != null) {
            cur.release();
            cur = null;
        }
        source.close();
    }

    // ---- headers

    private boolean readHeader() throws IOException {
        int got = 0;
        while (got < BLOCK) {
            if (!fill()) {
                if (got == 0) return false;
                throw truncated();
            }
            int n = Math.min(BLOCK - got, cur.length - pos);
            MemorySegment.copy(cur.segment, ValueLayout.JAVA_BYTE, pos, header, got, n);
            pos += n;
            offset += n;
            got += n;
        }
        return true;
    }

    /** Whether the next 512 bytes are a header (or the end marker), not data; peeks, consumes nothing. */
    private boolean nextIsHeader() throws IOException {
        if (!fill()) return true;
        if (cur.length - pos < BLOCK) return false;   // cannot tell cheaply: trust the size field
        byte[] peek = new byte[BLOCK];
        MemorySegment.copy(cur.segment, ValueLayout.JAVA_BYTE, pos, peek, 0, BLOCK);
        return allZero(peek) || checksumMatches(peek);
    }

    private byte[] headerName() {
        byte[] name = cString(Arrays.copyOfRange(header, 0, 100));
        boolean posix = header[257] == 'u' && header[258] == 's' && header[259] == 't' && header[260] == 'a'
                && header[261] == 'r' && header[262] == 0;
        if (posix && header[345] != 0) {
            byte[] prefix = cString(Arrays.copyOfRange(header, 345, 500));
            byte[] joined = Arrays.copyOf(prefix, prefix.length + 1 + name.length);
            joined[prefix.length] = '/';
            System.arraycopy(name, 0, joined, prefix.length + 1, name.length);
            return joined;
        }
        return name;
    }

    private void checkChecksum(long at) throws BadArchiveException {
        if (!checksumMatches(header)) throw bad("a header's checksum does not match (not a tar archive, or corrupt)", at);
    }

    private static boolean checksumMatches(byte[] h) {
        long stored;
        try {
            stored = octal(h, 148, 8);
        } catch (NumberFormatException e) {
            return false;
        }
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = (i >= 148 && i < 156) ? ' ' : h[i];
            unsigned += b & 0xFF;
            signed += b;
        }
        return stored == unsigned || stored == signed;   // some old tars summed signed bytes
    }

    private long number(int off, int len, String field, long at) throws BadArchiveException {
        return numeric(header, off, len, field, at);
    }

    /** A numeric field: octal text, or GNU's base-256 (high bit of the first byte set) for what octal cannot hold. */
    private long numeric(byte[] header, int off, int len, String field, long at) throws BadArchiveException {
        if ((header[off] & 0x80) != 0) {
            // GNU base-256: big-endian two's complement in the rest of the field
            boolean negative = (header[off] & 0x40) != 0;
            long v = negative ? -1 : 0;
            for (int i = 0; i < len; i++) {
                int b = header[off + i] & 0xFF;
                if (i == 0) b &= 0x7F;
                if (i == 0 && negative) b |= 0x80;
                if (i > 0 && ((v >>> 55) != 0 && (v >> 55) != -1)) throw bad("the " + field + " field overflows 63 bits", at);
                v = (v << 8) | b;
            }
            return v;
        }
        try {
            return octal(header, off, len);
        } catch (NumberFormatException e) {
            throw bad("the " + field + " field is not a number", at);
        }
    }

    private static long octal(byte[] h, int off, int len) {
        int i = off;
        int end = off + len;
        while (i < end && (h[i] == ' ' || h[i] == 0)) i++;
        long v = 0;
        int digits = 0;
        for (; i < end; i++) {
            int c = h[i];
            if (c == ' ' || c == 0) break;
            if (c < '0' || c > '7') throw new NumberFormatException();
            if (++digits > 21) throw new NumberFormatException();
            v = (v << 3) | (c - '0');
        }
        for (; i < end; i++) if (h[i] != ' ' && h[i] != 0) throw new NumberFormatException();
        return v;   // an empty field is 0, as GNU tar reads it
    }

    private List<TarEntry.Segment> oldGnuSparse(long at) throws IOException {
        List<TarEntry.Segment> out = new ArrayList<>();
        gnuSparseEntries(header, 386, 4, out, at);
        boolean more = header[482] != 0;
        byte[] ext = new byte[BLOCK];
        while (more) {
            long extAt = offset;
            if (!readHeader()) throw truncated();
            System.arraycopy(header, 0, ext, 0, BLOCK);
            gnuSparseEntries(ext, 0, 21, out, extAt);
            more = ext[504] != 0;
        }
        return out;
    }

    private void gnuSparseEntries(byte[] h, int off, int count, List<TarEntry.Segment> out, long at) throws BadArchiveException {
        for (int i = 0; i < count; i++) {
            int o = off + i * 24;
            if (h[o] == 0) return;
            long start = numeric(h, o, 12, "sparse offset", at);
            long len = numeric(h, o + 12, 12, "sparse length", at);
            if (out.size() >= limits.maxSparseSegments()) throw bad("the sparse map has more than " + limits.maxSparseSegments() + " segments", at);
            out.add(new TarEntry.Segment(start, len));
        }
    }

    /** Sparse 1.0: decimal lines at the start of the data, padded to a block: count, then offset and length pairs. */
    private List<TarEntry.Segment> sparseMap10(long at) throws IOException {
        List<TarEntry.Segment> out = new ArrayList<>();
        long count = -1;
        long pendingOffset = -1;
        StringBuilder num = new StringBuilder();
        long consumed = 0;
        while (true) {
            if (dataLeft == 0) throw bad("the sparse map runs past the member's data", at);
            if (!fill()) throw truncated();
            byte c = cur.segment.get(ValueLayout.JAVA_BYTE, pos++);
            offset++;
            dataLeft--;
            consumed++;
            if (c != '\n') {
                if (c < '0' || c > '9' || num.length() > 19) throw bad("the sparse map holds something other than numbers", at);
                num.append((char) c);
                continue;
            }
            if (num.isEmpty()) throw bad("the sparse map has an empty line", at);
            long v = Long.parseLong(num.toString());
            num.setLength(0);
            if (count < 0) {
                if (v > limits.maxSparseSegments()) throw bad("the sparse map has " + v + " segments, over " + limits.maxSparseSegments(), at);
                count = v;
            } else if (pendingOffset < 0) {
                pendingOffset = v;
            } else {
                out.add(new TarEntry.Segment(pendingOffset, v));
                pendingOffset = -1;
            }
            if (count >= 0 && out.size() == count && pendingOffset < 0) break;
        }
        long rest = pad(consumed);
        if (rest > dataLeft) throw bad("the sparse map runs past the member's data", at);
        skip(rest);
        dataLeft -= rest;
        return out;
    }

    private void checkSparse(List<TarEntry.Segment> map, long stored, long realSize, long at) throws BadArchiveException {
        long end = 0;
        long sum = 0;
        for (TarEntry.Segment s : map) {
            if (s.offset() < 0 || s.length() < 0 || s.offset() < end || s.offset() + s.length() < s.offset()
                    || s.offset() + s.length() > realSize) {
                throw bad("the sparse map is not sorted, overlaps, or reaches past the file's size " + realSize, at);
            }
            end = s.offset() + s.length();
            sum += s.length();
        }
        if (sum != stored) throw bad("the sparse map covers " + sum + " bytes but " + stored + " are stored", at);
    }

    // ---- bytes

    private byte[] readMeta(long size, int max, String what, long at) throws IOException {
        if (size > max) throw bad("its " + what + " is " + size + " bytes, over the limit of " + max, at);
        byte[] out = new byte[(int) size];
        int got = 0;
        while (got < size) {
            if (!fill()) throw truncated();
            int n = (int) Math.min(size - got, cur.length - pos);
            MemorySegment.copy(cur.segment, ValueLayout.JAVA_BYTE, pos, out, got, n);
            pos += n;
            offset += n;
            got += n;
        }
        skip(pad(size));
        return out;
    }

    private void skip(long n) throws IOException {
        while (n > 0) {
            if (!fill()) throw truncated();
            int k = (int) Math.min(n, cur.length - pos);
            pos += k;
            offset += k;
            n -= k;
        }
    }

    /** Makes sure the current block has unread bytes; false at the end of the stream. */
    private boolean fill() throws IOException {
        while (cur == null || pos == cur.length) {
            if (cur != null) {
                cur.release();
                cur = null;
            }
            Block b = source.next();
            if (b == null) return false;
            cur = b;
            pos = 0;
        }
        return true;
    }

    private static long pad(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    private static byte[] cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return n == b.length ? b : Arrays.copyOf(b, n);
    }

    private BadArchiveException truncated() {
        return new BadArchiveException(label + " is truncated: the tar stream ends after " + offset + " bytes"
                + (current.length == 0 ? "" : ", inside or after '" + currentName() + "'"));
    }

    BadArchiveException bad(String why, long at) {
        return new BadArchiveException(label + " is corrupt at byte " + at + " of its tar stream"
                + (current.length == 0 ? "" : " (after '" + currentName() + "')") + ": " + why);
    }

    /** One pax extended header's records; later records for a key replace earlier ones, as POSIX says. */
    private static final class Pax {
        final Map<String, byte[]> values = new HashMap<>();
        List<TarEntry.Segment> sparse00 = new ArrayList<>();

        static Pax parse(byte[] data, Pax into, TarReader r, long at) throws BadArchiveException {
            Pax p = into != null ? into : new Pax();
            int i = 0;
            long pendingOffset = -1;
            while (i < data.length) {
                if (data[i] == 0) break;   // some writers pad the header with NULs
                int sp = i;
                while (sp < data.length && data[sp] >= '0' && data[sp] <= '9' && sp - i < 10) sp++;
                if (sp == i || sp >= data.length || data[sp] != ' ') throw r.bad("a pax record has no length", at);
                int len = Integer.parseInt(new String(data, i, sp - i, StandardCharsets.US_ASCII));
                int end = i + len;
                if (len <= sp - i + 1 || end > data.length || data[end - 1] != '\n') {
                    throw r.bad("a pax record's length is wrong or it lacks its newline", at);
                }
                int eq = sp + 1;
                while (eq < end - 1 && data[eq] != '=') eq++;
                if (eq >= end - 1 && data[eq] != '=') throw r.bad("a pax record has no '='", at);
                String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
                byte[] value = Arrays.copyOfRange(data, eq + 1, end - 1);
                if (key.isEmpty()) throw r.bad("a pax record has an empty keyword", at);
                switch (key) {
                    case "GNU.sparse.offset" -> pendingOffset = number(value, key, r, at);
                    case "GNU.sparse.numbytes" -> {
                        if (pendingOffset < 0) throw r.bad("GNU.sparse.numbytes comes without an offset", at);
                        if (p.sparse00.size() >= r.limits.maxSparseSegments()) throw r.bad("too many sparse segments", at);
                        p.sparse00.add(new TarEntry.Segment(pendingOffset, number(value, key, r, at)));
                        pendingOffset = -1;
                    }
                    default -> {
                        // keys the unpacker does not use are still checked where a wrong value would matter
                        if (key.equals("path") || key.equals("linkpath")) {
                            for (byte b : value) if (b == 0) throw r.bad("the pax " + key + " holds a NUL byte", at);
                        }
                        p.values.put(key, value);
                    }
                }
                i = end;
            }
            return p;
        }

        static long number(byte[] v, String key, TarReader r, long at) throws BadArchiveException {
            String s = new String(v, StandardCharsets.US_ASCII);
            try {
                long n = Long.parseLong(s);
                if (n < 0) throw r.bad("the pax " + key + " is negative", at);
                return n;
            } catch (NumberFormatException e) {
                throw r.bad("the pax " + key + " is not a number", at);
            }
        }

        /** A pax time: seconds with an optional fraction, possibly negative. */
        static long[] time(byte[] v) {
            // the longest leading number, as GNU tar's strtol-like reading takes it ("999xxx" is 999)
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^-?[0-9]{1,18}(\\.[0-9]*)?")
                    .matcher(new String(v, StandardCharsets.US_ASCII));
            if (!m.find()) return null;
            String s = m.group();
            int dot = s.indexOf('.');
            long sec = Long.parseLong(dot < 0 ? s : s.substring(0, dot));
            String frac = dot < 0 ? "" : (s.substring(dot + 1) + "000000000").substring(0, 9);
            long nanos = frac.isEmpty() ? 0 : Long.parseLong(frac);
            if (s.startsWith("-") && nanos > 0) {
                sec -= 1;
                nanos = 1_000_000_000L - nanos;
            }
            return new long[] {sec, nanos};
        }

        static List<TarEntry.Segment> pairs(byte[] v, int max, TarReader r, long at) throws BadArchiveException {
            String s = new String(v, StandardCharsets.US_ASCII);
            if (s.isEmpty()) return List.of();
            String[] parts = s.split(",", -1);
            if (parts.length % 2 != 0) throw r.bad("GNU.sparse.map has an odd number of values", at);
            if (parts.length / 2 > max) throw r.bad("GNU.sparse.map has more than " + max + " segments", at);
            List<TarEntry.Segment> out = new ArrayList<>(parts.length / 2);
            for (int i = 0; i < parts.length; i += 2) {
                out.add(new TarEntry.Segment(number(parts[i].getBytes(StandardCharsets.US_ASCII), "GNU.sparse.map", r, at),
                        number(parts[i + 1].getBytes(StandardCharsets.US_ASCII), "GNU.sparse.map", r, at)));
            }
            return out;
        }
    }
}
