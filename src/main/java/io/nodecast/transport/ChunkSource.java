package io.nodecast.transport;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Rank 0's side of a stream: fills buffers from the bundle. */
@FunctionalInterface
public interface ChunkSource {
    /**
     * Fill {@code into} from its position up to its limit, or until the end of the data.
     * @return the number of bytes put, 0 only at the end
     */
    int fill(ByteBuffer into) throws IOException;
}
