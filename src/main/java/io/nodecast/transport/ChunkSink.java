package io.nodecast.transport;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A leader's side of a stream: takes each chunk in order. The buffer is reused after the call returns. */
@FunctionalInterface
public interface ChunkSink {
    void accept(ByteBuffer chunk) throws IOException;
}
