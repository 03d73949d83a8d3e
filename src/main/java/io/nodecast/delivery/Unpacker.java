package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.unpack.Destination;
import io.nodecast.unpack.Extractor;
import io.nodecast.unpack.UnpackSummary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * The seam between a leader's received chunks and the extractor: given DEST, the bundle's label and the chunks as
 * they arrive (direct ByteBuffers, reused by the transport once {@link #accept} returns), it unpacks on its own
 * thread; after the stream, {@link #finish} reports success or the failure, and what went on disk.
 *
 * <p>Any failure of the extractor, an {@link Error} included, ends as a failure here; the pipe is then abandoned,
 * so the rest of the stream is drained rather than left waiting (the other nodes must finish theirs).
 */
final class Unpacker {
    /** What one bundle's unpacking did on this node. */
    record Result(Optional<UnpackSummary> summary, Optional<NodecastException> failure, double seconds) {}

    private final ChunkPipe pipe;
    private final Thread thread;
    private volatile UnpackSummary summary;
    private volatile NodecastException failure;
    private volatile double seconds;

    private Unpacker(Destination dest, String label, int chunkBytes, Extractor.Options options) {
        this.pipe = new ChunkPipe(chunkBytes, 4);
        this.thread = Thread.ofPlatform().name("nodecast-unpack").daemon().start(() -> {
            long t = System.nanoTime();
            try {
                summary = new Extractor(dest, options).extract(pipe, label);
            } catch (NodecastException e) {
                failure = e;
            } catch (Throwable e) {
                failure = new NodecastException(ExitCode.FAILURE, label + ": unpacking failed: " + e, e);
            } finally {
                pipe.abandon();  // anything after the tar's end is not needed; let the broadcast finish
                seconds = (System.nanoTime() - t) / 1e9;
            }
        });
    }

    static Unpacker start(Destination dest, String label, int chunkBytes, Extractor.Options options) {
        return new Unpacker(dest, label, chunkBytes, options);
    }

    /** On the transport's thread: the next chunk, copied before returning. May wait while the extractor is behind. */
    void accept(ByteBuffer chunk) throws IOException {
        pipe.write(chunk);
    }

    /** After the last chunk: waits for the extractor to finish. */
    Result finish() {
        pipe.finish();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = new NodecastException(ExitCode.FAILURE, "interrupted while unpacking");
        }
        return new Result(Optional.ofNullable(summary), Optional.ofNullable(failure), seconds);
    }
}
