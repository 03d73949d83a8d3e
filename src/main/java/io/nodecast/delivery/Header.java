package io.nodecast.delivery;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What rank 0 tells every leader about a bundle before sending it.
 *
 * @param label       how messages name it
 * @param error       empty, or why rank 0 cannot deliver it (missing, unreadable, too large)
 * @param code        the exit code that goes with the error
 * @param size        bytes to be streamed
 * @param fingerprint path, size and mtime as rank 0 sees them: identity when there is no checksum sidecar
 * @param sha256      the checksum recorded beside the bundle, or empty
 */
record Header(String label, String error, int code, long size, String fingerprint, String sha256) {

    static byte[] encode(List<Header> headers) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(headers.size());
            for (Header h : headers) {
                out.writeUTF(h.label());
                out.writeUTF(h.error());
                out.writeInt(h.code());
                out.writeLong(h.size());
                out.writeUTF(h.fingerprint());
                out.writeUTF(h.sha256());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static List<Header> decode(byte[] data) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int n = in.readInt();
            List<Header> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(new Header(in.readUTF(), in.readUTF(), in.readInt(), in.readLong(), in.readUTF(), in.readUTF()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("corrupt bundle list from rank 0", e);
        }
    }
}
