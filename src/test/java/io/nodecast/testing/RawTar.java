package io.nodecast.testing;

import io.nodecast.format.Compression;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Writes tar headers byte by byte, so tests can build what no tar writer would: names of any bytes, links that
 * lie about their size, headers that claim gigabytes, sparse maps, repeated long-name headers, unknown types.
 */
public final class RawTar {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** One header; fields not given are plausible defaults. */
    public final class Header {
        final byte[] h = new byte[512];

        Header(byte[] name, char type) {
            put(0, Arrays.copyOf(name, Math.min(name.length, 100)));
            octal(100, 8, 0644);
            octal(108, 8, 0);
            octal(116, 8, 0);
            octal(124, 12, 0);
            octal(136, 12, 1_600_000_000L);
            h[156] = (byte) type;
            put(257, "ustar\0".getBytes(StandardCharsets.US_ASCII));
            put(263, "00".getBytes(StandardCharsets.US_ASCII));
        }

        public Header mode(int mode) {
            octal(100, 8, mode);
            return this;
        }

        public Header size(long size) {
            octal(124, 12, size);
            return this;
        }

        public Header mtime(long t) {
            octal(136, 12, t);
            return this;
        }

        public Header link(String target) {
            return link(target.getBytes(StandardCharsets.UTF_8));
        }

        public Header link(byte[] target) {
            put(157, Arrays.copyOf(target, Math.min(100, target.length)));
            return this;
        }

        /** Any bytes at any offset: an empty uid field, a base-256 number, a GNU sparse map. */
        public Header raw(int offset, byte[] bytes) {
            put(offset, bytes);
            return this;
        }

        public Header gnuMagic() {
            put(257, "ustar  \0".getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        /** Writes the header (with its checksum) and then {@code data}, padded to a whole record. */
        public RawTar data(byte[] data) {
            Arrays.fill(h, 148, 156, (byte) ' ');
            long sum = 0;
            for (byte b : h) sum += b & 0xFF;
            byte[] ck = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(ck, 0, h, 148, 8);
            out.writeBytes(h);
            out.writeBytes(data);
            out.writeBytes(new byte[(512 - data.length % 512) % 512]);
            return RawTar.this;
        }

        public RawTar end() {
            return data(new byte[0]);
        }

        private void octal(int off, int len, long v) {
            byte[] s = String.format("%0" + (len - 1) + "o\0", v).getBytes(StandardCharsets.US_ASCII);
            put(off, s.length > len ? Arrays.copyOfRange(s, s.length - len, s.length) : s);
        }

        private void put(int off, byte[] b) {
            System.arraycopy(b, 0, h, off, b.length);
        }
    }

    public Header header(String name, char type) {
        return header(name.getBytes(StandardCharsets.UTF_8), type);
    }

    public Header header(byte[] name, char type) {
        return new Header(name, type);
    }

    public RawTar file(String name, String content) {
        byte[] d = content.getBytes(StandardCharsets.UTF_8);
        return header(name, '0').size(d.length).data(d);
    }

    public RawTar dir(String name) {
        return header(name.endsWith("/") ? name : name + "/", '5').mode(0755).end();
    }

    public RawTar symlink(String name, String target) {
        return header(name, '2').link(target).end();
    }

    public RawTar hardlink(String name, String target) {
        return header(name, '1').link(target).end();
    }

    /** A GNU long name ('L') or long link ('K') header carrying {@code value}. */
    public RawTar gnuLong(char type, byte[] value) {
        byte[] v = Arrays.copyOf(value, value.length + 1);
        return header("././@LongLink", type).gnuMagic().size(v.length).data(v);
    }

    /** A pax extended header ('x') or global one ('g') with these records, in order. */
    public RawTar pax(char type, Map<String, String> records) {
        ByteArrayOutputStream r = new ByteArrayOutputStream();
        for (Map.Entry<String, String> e : records.entrySet()) r.writeBytes(paxRecord(e.getKey(), e.getValue()));
        byte[] d = r.toByteArray();
        return header("PaxHeaders/x", type).size(d.length).data(d);
    }

    public static byte[] paxRecord(String key, String value) {
        byte[] kv = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8);
        int len = kv.length + 1;
        while (String.valueOf(len).length() + kv.length != len) len++;
        return (len + new String(kv, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
    }

    /** Bytes appended as they are (a raw pax body, garbage, a truncated record). */
    public RawTar rawBytes(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    /** The end-of-archive marker: two zero records. */
    public byte[] bytes() {
        out.writeBytes(new byte[1024]);
        return out.toByteArray();
    }

    public byte[] bytes(Compression c) {
        byte[] tar = bytes();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (OutputStream z = c.compress(b, 0, 1)) {
            z.write(tar);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toByteArray();
    }

    public Path writeTo(Path file) {
        try {
            Files.write(file, bytes());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
