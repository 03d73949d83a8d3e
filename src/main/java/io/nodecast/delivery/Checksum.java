package io.nodecast.delivery;

import io.nodecast.digest.Sha256;

import java.nio.ByteBuffer;
import java.security.MessageDigest;

/** SHA-256 of the bytes a leader received, fed chunk by chunk on the transport's thread. */
final class Checksum {
    private final MessageDigest digest = Sha256.create();

    void update(ByteBuffer chunk) {
        digest.update(chunk.duplicate());
    }

    String hex() {
        return Sha256.hex(digest);
    }

    /**
     * Where the JDK hashes (no libcrypto on the node), hashes 8 MiB of zeros as a stream's chunks are hashed (direct
     * buffers of 256 KiB) and drops the result. Until the JIT has compiled SHA-256 to the processor's instructions, a
     * 256 KiB chunk takes 7-25 ms instead of 0.1 ms; on a member of a broadcast that is time the next hop waits for
     * its segment. libcrypto needs no warming.
     */
    static void warm() {
        if (Sha256.usesLibCrypto()) return;
        MessageDigest d = Sha256.jdk();
        ByteBuffer zeros = ByteBuffer.allocateDirect(256 << 10);
        for (int i = 0; i < 32; i++) d.update(zeros.clear());
        d.digest();
    }
}
