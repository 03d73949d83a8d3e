package io.nodecast.transport;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A leader's side of a stream: takes the bytes in order, in pieces of any length the transport chooses (a
 * transport may hand one message in several slices, to keep its links moving in between). The buffer is reused
 * after the call returns. The call may wait (an unpacker that is behind holds the stream back).
 */
@FunctionalInterface
public interface ChunkSink {
    void accept(ByteBuffer chunk) throws IOException;
}
