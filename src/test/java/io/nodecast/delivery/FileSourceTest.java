package io.nodecast.delivery;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Rank 0's reading of a bundle: every byte once, in order, hashed; a file that ends early is sent as zeros and said. */
class FileSourceTest {
    @TempDir Path tmp;

    /** What a transport does: asks for exactly {@code size} bytes, {@code chunk} at a time, into a direct buffer. */
    private static byte[] stream(FileSource source, long size, int chunk) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocateDirect(chunk);
        for (long done = 0; done < size; ) {
            buf.clear().limit((int) Math.min(chunk, size - done));
            while (buf.hasRemaining()) {
                if (source.fill(buf) == 0) throw new AssertionError("fill returned 0 before the end");
            }
            buf.flip();
            byte[] a = new byte[buf.remaining()];
            buf.get(a);
            out.writeBytes(a);
            done += a.length;
        }
        return out.toByteArray();
    }

    private static String sha256(byte[] b) {
        return HexFormat.of().formatHex(io.nodecast.digest.Sha256.jdk().digest(b));
    }

    @ParameterizedTest(name = "chunks of {0} bytes")
    @ValueSource(ints = {1 << 20, 65_536, 1_000_003, 20 << 20})
    void everyByteOnceInOrderAndItsChecksum(int chunk) throws Exception {
        byte[] data = new byte[(19 << 20) + 12_345];   // over two read-aheads, not a multiple of anything
        new Random(chunk).nextBytes(data);
        Path file = Files.write(tmp.resolve("b.tar.zst"), data);
        FileSource source = new FileSource(file, data.length);
        assertThat(stream(source, data.length, chunk)).isEqualTo(data);
        assertThat(source.error()).isEmpty();
        assertThat(source.sha256()).isEqualTo(sha256(data));
    }

    @ParameterizedTest(name = "ends after {0} of 3,000,000 bytes")
    @ValueSource(ints = {0, 700, 1_500_000})
    void aFileThatEndsEarlyIsSentAsZerosAndSaid(int length) throws Exception {
        byte[] data = new byte[length];
        new Random(length).nextBytes(data);
        Path file = Files.write(tmp.resolve("short.tar.zst"), data);
        int size = 3_000_000;
        FileSource source = new FileSource(file, size);
        byte[] sent = stream(source, size, 1 << 20);
        byte[] expected = Arrays.copyOf(data, size);
        assertThat(sent).isEqualTo(expected);
        assertThat(source.error()).hasValueSatisfying(e -> assertThat(e).contains(file.toString(), "became shorter", "3000000"));
        assertThat(source.sha256()).as("the checksum is of what was sent").isEqualTo(sha256(expected));
    }

    @Test
    void aMissingFileIsSaidNotThrown() {
        Path file = tmp.resolve("gone.tar.zst");
        FileSource source = new FileSource(file, 10);
        assertThat(stream(source, 10, 4)).isEqualTo(new byte[10]);
        assertThat(source.error()).hasValueSatisfying(e -> assertThat(e).contains("cannot read bundle", file.toString()));
    }
}
