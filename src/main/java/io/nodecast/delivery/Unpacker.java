package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.format.ChunkInput;
import io.nodecast.image.ImageMode;
import io.nodecast.image.ImageReceiver;
import io.nodecast.image.Superblock;
import io.nodecast.unpack.Destination;
import io.nodecast.unpack.Extractor;
import io.nodecast.unpack.UnpackSummary;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * The seam between a leader's received chunks and what goes on disk, told by the first bytes: a tar stream (any
 * compression) is unpacked by the extractor on its own thread as it arrives; a squashfs image is kept whole in
 * node-local storage and mounted at DEST only once rank 0's checksum matched ({@link ImageReceiver}). After the
 * stream, {@link #finish} reports the unpacking; {@link #commit} mounts an image (a tar bundle is already on disk)
 * and {@link #discard} drops an image whose round failed.
 *
 * <p>Any failure of the extractor, an {@link Error} included, ends as a failure here; the pipe is then abandoned,
 * so the rest of the stream is drained rather than left waiting (the other nodes must finish theirs). Nothing
 * thrown here reaches the transport's thread: the broadcast goes on whatever this node does with the bytes.
 */
final class Unpacker {
    /** What one bundle's unpacking did on this node. */
    record Result(Optional<UnpackSummary> summary, Optional<NodecastException> failure, double seconds) {}

    private final Destination dest;
    private final String label;
    private final long size;
    private final int chunkBytes;
    private final Extractor.Options options;
    private final ImageMode imageMode;
    private ChunkPipe pipe;
    private Thread thread;
    private ImageReceiver image;
    private volatile UnpackSummary summary;
    private volatile NodecastException failure;
    private volatile double seconds;

    private Unpacker(Destination dest, String label, long size, int chunkBytes, Extractor.Options options, ImageMode imageMode) {
        this.dest = dest;
        this.label = label;
        this.size = size;
        this.chunkBytes = chunkBytes;
        this.options = options;
        this.imageMode = imageMode;
    }

    /** Nothing starts before the first bytes say what the bundle is. */
    static Unpacker start(Destination dest, String label, long size, int chunkBytes, Extractor.Options options, ImageMode imageMode) {
        return new Unpacker(dest, label, size, chunkBytes, options, imageMode);
    }

    /** On the transport's thread: the next chunk, copied before returning. May wait while the extractor is behind. */
    void accept(ByteBuffer chunk) throws IOException {
        if (pipe == null && image == null && failure == null) {
            if (Superblock.isImage(chunk)) image = new ImageReceiver(dest.root(), label, size, imageMode, this::unpackImage);
            else startTar(chunk.remaining());
        }
        if (image != null) image.accept(chunk);
        else if (pipe != null) pipe.write(chunk);
    }

    /** @param firstChunk the size of the chunks the transport hands over (a pipelined broadcast's segment) */
    private void startTar(int firstChunk) {
        try {
            // the pipe cuts what it is handed into its buffers: 4 of at most 1 MiB, no larger than the chunks it is
            // handed, fewer bytes for a small bundle, made as they are first needed. A direct buffer is zeroed when
            // made, on the transport's thread: 8 MiB of fresh pages held up a broadcast member's first forward
            // 70-100 ms on the test bed. Behind the pipe, the extractor's blocks hold at least 8 MiB more
            pipe = new ChunkPipe(Math.clamp(Math.min(size, firstChunk), 4096, Math.min(chunkBytes, 1 << 20)), 4);
            thread = Thread.ofPlatform().name("nodecast-unpack").daemon().start(() -> {
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
        } catch (RuntimeException | Error e) {
            // out of memory for the buffers, a thread that cannot start: this bundle fails here, the stream goes on
            pipe = null;
            failure = new NodecastException(ExitCode.FAILURE, label + ": cannot start unpacking: " + e, e);
        }
    }

    /** An image unpacked instead of mounted: sqfs2tar's tar stream through the same extractor and its checks. */
    private UnpackSummary unpackImage(InputStream stream, String label) {
        byte[] buffer = new byte[1 << 20];
        ChunkInput in = () -> {
            int n = stream.read(buffer);
            return n < 0 ? null : ByteBuffer.wrap(buffer, 0, n);
        };
        return new Extractor(dest, options).extract(in, label);
    }

    /** After the last chunk: waits for the extractor to finish. */
    Result finish() {
        if (image != null) {
            image.finish();
            return new Result(Optional.empty(), Optional.ofNullable(image.failure()), image.seconds());
        }
        if (pipe == null && failure == null) startTar(0);   // an empty stream: the extractor says what is wrong with it
        if (pipe != null) {
            pipe.finish();
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = new NodecastException(ExitCode.FAILURE, "interrupted while unpacking");
            }
        }
        return new Result(Optional.ofNullable(summary), Optional.ofNullable(failure), seconds);
    }

    /**
     * The round succeeded everywhere so far and rank 0's checksum matched: an image is checked and mounted (or
     * unpacked) now. A {@link NodecastException} fails the bundle on this node.
     *
     * @return what DEST gained
     */
    Result commit(String sha256) {
        if (image == null) return new Result(Optional.ofNullable(summary), Optional.empty(), seconds);
        UnpackSummary s = image.commit(sha256);
        long t = System.nanoTime();
        // the image's files name the prefix it was made from, like a tar bundle's: pointed at DEST the same way
        new Extractor(dest, options).relocateInPlace(label);
        return new Result(Optional.of(s), Optional.empty(), image.seconds() + (System.nanoTime() - t) / 1e9);
    }

    /** The round failed: an image's bytes are not kept. (A tar bundle's files stay, unmarked, for the next run.) */
    void discard() {
        if (image != null) image.discard();
    }
}
