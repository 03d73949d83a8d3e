package io.nodecast.delivery;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class ChunkPipeTest {

    private static ByteBuffer bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (seed + i * 31);
        return ByteBuffer.wrap(b);
    }

    private static byte[] drain(ChunkPipe pipe) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuffer b; (b = pipe.next()) != null; ) {
            byte[] a = new byte[b.remaining()];
            b.get(a);
            out.write(a);
        }
        return out.toByteArray();
    }

    @Test
    void chunksLargerThanABufferArriveWholeAndInOrderWhileOnlyTheGivenBuffersCirculate() throws Exception {
        ChunkPipe pipe = new ChunkPipe(1000, 2);
        ByteBuffer first = bytes(2500, 1), second = bytes(10, 7), third = bytes(4096, 3);
        CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> {
            try {
                return drain(pipe);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        for (ByteBuffer b : new ByteBuffer[] {first, second, third}) pipe.write(b);
        pipe.finish();
        assertThat(first.position()).as("the caller's buffer is read through a copy of its cursor").isZero();

        ByteBuffer expected = ByteBuffer.allocate(2500 + 10 + 4096).put(first).put(second).put(third);
        assertThat(read.get(30, TimeUnit.SECONDS)).isEqualTo(expected.array());
    }

    @Test
    void buffersAreMadeAsTheWriterNeedsThemAndNeverMoreThanGiven() throws Exception {
        ChunkPipe pipe = new ChunkPipe(64, 2);
        pipe.write(bytes(64, 1));
        pipe.write(bytes(64, 2));   // two buffers made, both full: no reader yet
        CompletableFuture<Void> third = CompletableFuture.runAsync(() -> {
            try {
                pipe.write(bytes(64, 3));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(300);
        assertThat(third).as("a third buffer was made").isNotDone();
        assertThat(pipe.next().get(0)).isEqualTo((byte) 1);   // the reader holds the first buffer while it reads it
        Thread.sleep(100);
        assertThat(third).as("the buffer being read was taken").isNotDone();
        assertThat(pipe.next().get(0)).isEqualTo((byte) 2);   // gives the first back
        third.get(20, TimeUnit.SECONDS);
        assertThat(pipe.next().get(0)).isEqualTo((byte) 3);
    }

    @Test
    void afterTheReaderGivesUpEveryWriteReturnsWithoutWaitingForABuffer() throws Exception {
        ChunkPipe pipe = new ChunkPipe(64, 1);
        pipe.write(bytes(64, 0));
        assertThat(pipe.next()).isNotNull();  // the reader holds the only buffer and never gives it back
        pipe.abandon();

        // before, each of these waited 50 ms for a free buffer (a failed node slowed its stream to 20 chunks a second)
        CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
            try {
                for (int i = 0; i < 2000; i++) pipe.write(bytes(64, i));
                pipe.finish();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        writes.get(20, TimeUnit.SECONDS);  // the check: a TimeoutException fails the test (100 s at 50 ms a write)
    }
}
