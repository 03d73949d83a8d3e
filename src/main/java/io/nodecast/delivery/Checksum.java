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

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
