package io.nodecast.format;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * xz and bzip2 bundles decoded by the node's liblzma and libbz2: what the xz and bzip2 commands write, in one stream
 * or several, comes back byte for byte in chunks of any size; a stream cut short, damaged, or expanding past the
 * limit ends in a one-line refusal naming the bundle.
 */
class SystemDecoderTest {
    @TempDir static Path work;
    private static byte[] plain;
    private static byte[] small;

    @BeforeAll
    static void data() {
        // compressible like a tree of Python files, with a stretch that is not
        Random r = new Random(3);
        StringBuilder text = new StringBuilder();
        while (text.length() < (3 << 20)) text.append("def f").append(r.nextInt(5000)).append("(x):\n    return x * ").append(r.nextInt()).append('\n');
        byte[] noise = new byte[300_000];
        r.nextBytes(noise);
        plain = join(text.toString().getBytes(), noise);
        small = "a second stream\n".repeat(1000).getBytes();
    }

    @Test
    void theNodesLibrariesAreFoundAndUsed() throws IOException {
        assertThat(SystemDecoder.of(Compression.XZ)).get().extracting(SystemDecoder.Codec::name).asString().contains("/liblzma.so.5");
        assertThat(SystemDecoder.of(Compression.BZIP2)).get().extracting(SystemDecoder.Codec::name).asString().contains("/libbz2.so.1");
        assertThat(SystemDecoder.of(Compression.GZIP)).isEmpty();
        try (BlockSource s = Decompression.open(ChunkInputs.of(compress("xz", plain), 1 << 16), new BlockPool(4, 1 << 16), "b", 0, () -> false)) {
            assertThat(s).isInstanceOf(SystemDecoder.class);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"xz", "xz -T2 --block-size=1MiB", "xz -0e", "bzip2", "bzip2 -1"})
    void whatTheCommandWritesComesBack(String command) throws IOException {
        byte[] packed = compress(command, plain);
        for (int chunk : new int[] {4096, 1 << 20, 8 << 20}) {
            assertThat(decode(packed, chunk, 0)).as(command + ", chunks of " + chunk).isEqualTo(plain);
        }
        assertThat(decode(compress(command, small), 1, 0)).as(command + ", byte by byte").isEqualTo(small);
    }

    /** Two files joined with cat: xz -d and bzip2 -d read both, and so must a bundle. */
    @ParameterizedTest
    @ValueSource(strings = {"xz", "bzip2"})
    void joinedStreamsComeBackWhole(String command) throws IOException {
        byte[] packed = join(compress(command, plain), compress(command, small));
        assertThat(decode(packed, 65536, 0)).isEqualTo(join(plain, small));
        if (command.equals("xz")) {
            // the .xz format allows zero padding between streams, in fours
            assertThat(decode(join(compress(command, small), new byte[8], compress(command, small)), 4096, 0)).isEqualTo(join(small, small));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"xz", "bzip2"})
    void aStreamCutShortIsSaid(String command) throws IOException {
        byte[] packed = compress(command, plain);
        for (int cut : new int[] {packed.length / 2, packed.length - 1}) {
            assertThatThrownBy(() -> decode(Arrays.copyOf(packed, cut), 65536, 0)).as("cut at " + cut)
                    .isInstanceOf(BadArchiveException.class)
                    .hasMessageStartingWith("b.tar is truncated: its " + (command.equals("xz") ? "xz" : "bzip2") + " (/")
                    .hasMessageContaining("stream ends early");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"xz", "bzip2"})
    void damageIsSaid(String command) throws IOException {
        byte[] packed = compress(command, plain);
        packed[packed.length / 3] ^= 0x55;
        assertThatThrownBy(() -> decode(packed, 65536, 0)).isInstanceOf(BadArchiveException.class)
                .hasMessageMatching("b\\.tar is corrupt: (xz|bzip2) \\(/\\S+\\) says (LZMA|BZ)_DATA_ERROR after \\d+ bytes of tar");
    }

    @ParameterizedTest
    @ValueSource(strings = {"xz", "bzip2"})
    void theLimitHolds(String command) throws IOException {
        byte[] packed = compress(command, plain);
        assertThatThrownBy(() -> decode(packed, 65536, 1 << 20)).isInstanceOf(BadArchiveException.class)
                .hasMessageContaining("b.tar expands to more than 1048576 bytes");
        assertThat(decode(packed, 65536, plain.length)).isEqualTo(plain);
    }

    /** A node without liblzma and libbz2: the Java decoders give the same bytes, and refuse a stream cut short. */
    @ParameterizedTest
    @ValueSource(strings = {"xz", "bzip2"})
    void withoutTheLibrariesTheJavaDecodersDecode(String command) throws IOException {
        byte[] packed = join(compress(command, plain), compress(command, small));
        assertThat(decode(packed, 65536, 0, false)).isEqualTo(join(plain, small));
        assertThatThrownBy(() -> decode(Arrays.copyOf(packed, packed.length / 2), 65536, 0, false))
                .isInstanceOf(BadArchiveException.class).hasMessageMatching("b\\.tar is (truncated|corrupt): [^\n]*");
    }

    private static byte[] decode(byte[] packed, int chunk, long max) throws IOException {
        return decode(packed, chunk, max, true);
    }

    private static byte[] decode(byte[] packed, int chunk, long max, boolean system) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (BlockSource s = Decompression.open(ChunkInputs.of(packed, chunk), new BlockPool(4, 1 << 16), "b.tar", max, () -> false,
                system ? SystemDecoder::of : c -> java.util.Optional.empty())) {
            assertThat(s instanceof SystemDecoder).as("decoded by the system's library").isEqualTo(system);
            for (Block b; (b = s.next()) != null; ) {
                out.writeBytes(b.segment().asSlice(0, b.length()).toArray(ValueLayout.JAVA_BYTE));
                b.release();
            }
            assertThat(s.produced()).isEqualTo(out.size());
        }
        return out.toByteArray();
    }

    private static byte[] compress(String command, byte[] data) throws IOException {
        Path in = Files.write(Files.createTempFile(work, "in", ""), data);
        List<String> cmd = new java.util.ArrayList<>(List.of(command.split(" ")));
        cmd.addAll(List.of("-c", in.toString()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            assertThat(p.waitFor()).as(command).isZero();
        } catch (InterruptedException e) {
            throw new IOException(e);
        }
        return out;
    }

    private static byte[] join(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }
}
