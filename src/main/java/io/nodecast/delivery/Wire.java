package io.nodecast.delivery;

import io.nodecast.core.ExitCode;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The one codec for everything that crosses ranks: bundle headers, rank 0's verdict on a stream, node failures.
 * Strings travel as a length and UTF-8 bytes (no 64 KiB limit, cut on a character boundary when a budget is
 * given); exit codes travel as their numbers ({@link ExitCode#code()}), never as the enum's position, so the
 * enum can be reordered without changing what peers read.
 */
final class Wire {
    private Wire() {}

    static final class Writer {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final DataOutputStream out = new DataOutputStream(bytes);

        Writer string(String s) {
            return bytes(s.getBytes(StandardCharsets.UTF_8));
        }

        /** At most {@code maxBytes} of UTF-8, "..." marking a cut. */
        Writer string(String s, int maxBytes) {
            return string(cut(s, maxBytes));
        }

        Writer exitCode(ExitCode code) {
            return integer(code.code());
        }

        Writer integer(int v) {
            try {
                out.writeInt(v);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        Writer longInteger(long v) {
            try {
                out.writeLong(v);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        Writer bytes(byte[] b) {
            integer(b.length);
            bytes.writeBytes(b);
            return this;
        }

        int size() {
            return bytes.size();
        }

        byte[] toByteArray() {
            return bytes.toByteArray();
        }
    }

    static final class Reader {
        private final DataInputStream in;
        private final String what;

        /** @param what what the bytes are, for the error a truncated message gives */
        Reader(byte[] data, String what) {
            this.in = new DataInputStream(new ByteArrayInputStream(data));
            this.what = what;
        }

        String string() {
            return new String(bytes(), StandardCharsets.UTF_8);
        }

        ExitCode exitCode() {
            return ExitCode.of(integer());
        }

        int integer() {
            try {
                return in.readInt();
            } catch (IOException e) {
                throw corrupt(e);
            }
        }

        long longInteger() {
            try {
                return in.readLong();
            } catch (IOException e) {
                throw corrupt(e);
            }
        }

        byte[] bytes() {
            int n = integer();
            try {
                if (n < 0 || n > in.available()) throw new IOException("a field of " + n + " bytes in " + in.available() + " left");
                return in.readNBytes(n);
            } catch (IOException e) {
                throw corrupt(e);
            }
        }

        private UncheckedIOException corrupt(IOException e) {
            return new UncheckedIOException("corrupt " + what + " from another rank: " + e.getMessage(), e);
        }
    }

    /** {@code s} cut to at most {@code maxBytes} of UTF-8, on a character boundary, with "..." when cut. */
    static String cut(String s, int maxBytes) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= maxBytes) return s;
        int end = Math.max(0, maxBytes - 3);
        while (end > 0 && (b[end] & 0xC0) == 0x80) end--;  // not inside a multi-byte character
        return new String(b, 0, end, StandardCharsets.UTF_8) + "...";
    }

    /** Room for the host and message of one failure: what a node sends in its fixed-size record. */
    static final int HOST_BYTES = 200;

    /**
     * Failures in at most {@code capacity} bytes: as many whole records as fit, in order, and the count of those
     * left out (the reader reports them as one line). Each message is cut to fit a record of its own.
     */
    static byte[] failures(List<NodeFailure> failures, int capacity) {
        if (capacity < 8) throw new IllegalArgumentException("no room for a failure list in " + capacity + " bytes");
        int room = capacity - 8;
        int messageBytes = Math.max(16, Math.min(capacity - 8 - 16 - HOST_BYTES - 3, 4000));
        List<byte[]> records = new ArrayList<>();
        for (NodeFailure f : failures) {
            byte[] r = new Writer().string(f.host(), HOST_BYTES).integer(f.rank()).exitCode(f.code())
                    .string(f.message(), messageBytes).toByteArray();
            if (r.length > room) break;
            room -= r.length;
            records.add(r);
        }
        Writer w = new Writer().integer(records.size()).integer(failures.size() - records.size());
        for (byte[] r : records) w.bytes.writeBytes(r);
        return w.toByteArray();
    }

    /** The failures {@link #failures(List, int)} wrote; those left out become one summary line. */
    static List<NodeFailure> failures(byte[] data) {
        Reader in = new Reader(data, "failure list");
        int n = in.integer();
        int more = in.integer();
        List<NodeFailure> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new NodeFailure(in.string(), in.integer(), in.exitCode(), in.string()));
        }
        if (more > 0) {
            ExitCode code = out.isEmpty() ? ExitCode.REMOTE : out.getLast().code();
            out.add(new NodeFailure("(" + more + " more node" + (more == 1 ? "" : "s") + ")", -1, code,
                    "failed too; their messages did not fit"));
        }
        return out;
    }
}
