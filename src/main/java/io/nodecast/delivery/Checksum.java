package io.nodecast.delivery;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of the bytes a leader received, fed chunk by chunk on the transport's thread. */
final class Checksum {
    private final MessageDigest digest = sha256();

    void update(ByteBuffer chunk) {
        digest.update(chunk.duplicate());
    }

    String hex() {
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * Hashes 8 MiB of zeros as a stream's chunks are hashed (direct buffers of 256 KiB) and drops the result. Until
     * the JIT has compiled SHA-256 to the processor's instructions, a 256 KiB chunk takes 7-25 ms instead of 0.1 ms;
     * on a member of a broadcast that is time the next hop waits for its segment.
     */
    static void warm() {
        MessageDigest d = sha256();
        ByteBuffer zeros = ByteBuffer.allocateDirect(256 << 10);
        for (int i = 0; i < 32; i++) d.update(zeros.clear());
        d.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
