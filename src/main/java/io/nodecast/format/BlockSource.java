package io.nodecast.format;

import java.io.IOException;

/** A bundle's decompressed tar stream, block by block. */
public interface BlockSource extends AutoCloseable {
    /** The next filled block, held once by the caller; null at the end of the stream. */
    Block next() throws IOException;

    /** Bytes of tar stream produced so far. */
    long produced();

    @Override
    void close();
}
