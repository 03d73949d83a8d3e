package io.nodecast.delivery;

import io.nodecast.core.ExitCode;

import java.util.ArrayList;
import java.util.List;

/**
 * What rank 0 tells every leader about a bundle before sending it.
 *
 * @param label       how messages name it
 * @param error       empty, or why rank 0 cannot deliver it (missing, unreadable, too large)
 * @param code        the exit code that goes with the error ({@link ExitCode#OK} without one)
 * @param size        bytes to be streamed
 * @param fingerprint path, size and mtime as rank 0 sees them: identity when there is no checksum sidecar
 * @param sha256      the checksum recorded beside the bundle, or empty
 */
record Header(String label, String error, ExitCode code, long size, String fingerprint, String sha256) {

    static Header ok(String label, long size, String fingerprint, String sha256) {
        return new Header(label, "", ExitCode.OK, size, fingerprint, sha256);
    }

    static Header failed(String label, ExitCode code, String error) {
        return new Header(label, error, code, 0, "", "");
    }

    boolean failed() {
        return !error.isEmpty();
    }

    static byte[] encode(List<Header> headers) {
        Wire.Writer w = new Wire.Writer().integer(headers.size());
        for (Header h : headers) {
            w.string(h.label()).string(h.error()).exitCode(h.code()).longInteger(h.size()).string(h.fingerprint()).string(h.sha256());
        }
        return w.toByteArray();
    }

    static List<Header> decode(byte[] data) {
        Wire.Reader in = new Wire.Reader(data, "bundle list");
        int n = in.integer();
        List<Header> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new Header(in.string(), in.string(), in.exitCode(), in.longInteger(), in.string(), in.string()));
        }
        return out;
    }
}
