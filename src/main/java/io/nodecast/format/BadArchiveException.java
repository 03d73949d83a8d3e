package io.nodecast.format;

import java.io.IOException;

/**
 * The bytes are not a bundle nodecast can unpack: not a tar archive, truncated, corrupt, or over a limit that no
 * real bundle reaches. The message names the entry and the numbers.
 */
public final class BadArchiveException extends IOException {
    public BadArchiveException(String message) {
        super(message);
    }

    public BadArchiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
