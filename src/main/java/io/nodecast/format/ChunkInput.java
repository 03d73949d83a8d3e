package io.nodecast.format;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A bundle's raw (compressed) bytes as they arrive, in order: from a broadcast, or from a file. */
public interface ChunkInput {
    /**
     * The next chunk, positioned at its first unread byte; null at the end. A chunk stays valid until the next
     * call, which may reuse its memory.
     */
    ByteBuffer next() throws IOException;
}
