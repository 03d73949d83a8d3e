package io.nodecast.digest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Sha256Test {

    /** The test machines, like nearly every Linux node, have OpenSSL: the fast path is the one tested. */
    @Test
    void libcryptoIsFoundAndNamed() {
        assertThat(Sha256.usesLibCrypto()).isTrue();
        assertThat(Sha256.create()).isInstanceOf(OpenSslDigest.class);
        assertThat(Sha256.implementation()).startsWith("OpenSSL ").containsPattern("\\(/.*/libcrypto\\.so\\.[0-9.]+\\)$");
    }

    @Test
    void knownAnswers() {
        // FIPS 180-2 appendix B
        assertThat(hex(Sha256.create(), "")).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assertThat(hex(Sha256.create(), "abc")).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(hex(Sha256.create(), "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
                .isEqualTo("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }

    /** The same bytes, fed as arrays, single bytes, heap and direct buffers in random pieces, give the JDK's digest. */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 55, 56, 63, 64, 65, 1000, (64 << 10) - 1, (64 << 10) + 1, (1 << 20) + 17, 3 << 20})
    void sameAsTheJdkHoweverFed(int size) {
        Random r = new Random(size);
        byte[] data = new byte[size];
        r.nextBytes(data);
        String expected = HexFormat.of().formatHex(Sha256.jdk().digest(data));
        MessageDigest d = Sha256.create();
        for (int round = 0; round < 3; round++) {   // digest() resets, so the same digest hashes again
            int at = 0;
            while (at < size) {
                int n = Math.min(size - at, r.nextInt(4) == 0 ? 1 : 1 + r.nextInt(200_000));
                switch (r.nextInt(4)) {
                    case 0 -> {
                        if (n == 1) d.update(data[at]);
                        else d.update(data, at, n);
                    }
                    case 1 -> d.update(ByteBuffer.wrap(data, at, n));
                    case 2 -> {
                        ByteBuffer direct = ByteBuffer.allocateDirect(n + 7);
                        direct.position(7).put(data, at, n).position(7);   // a buffer whose data starts past 0
                        d.update(direct);
                        assertThat(direct.hasRemaining()).isFalse();
                    }
                    default -> d.update(ByteBuffer.allocateDirect(n).put(data, at, n).flip().asReadOnlyBuffer());
                }
                at += n;
            }
            assertThat(Sha256.hex(d)).as("size %d, round %d", size, round).isEqualTo(expected);
        }
    }

    @Test
    void resetForgetsWhatWasFed() {
        MessageDigest d = Sha256.create();
        d.update("something else".getBytes(StandardCharsets.US_ASCII));
        d.reset();
        assertThat(hex(d, "abc")).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    @Test
    void worksUnderADigestOutputStream() throws IOException {
        byte[] data = new byte[5 << 20];
        new Random(7).nextBytes(data);
        MessageDigest d = Sha256.create();
        try (DigestOutputStream out = new DigestOutputStream(new ByteArrayOutputStream(), d)) {
            out.write(data, 0, 100);
            out.write(data[100]);
            out.write(data, 101, data.length - 101);
        }
        assertThat(d.digest()).isEqualTo(Sha256.jdk().digest(data));
    }

    /** A file of several read buffers and a part, and an empty one: their sizes and sha256sum's answers. */
    @Test
    void digestsAWholeFile(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException, InterruptedException {
        byte[] data = new byte[(3 << 20) + 5];
        new Random(11).nextBytes(data);
        Path file = Files.write(dir.resolve("f"), data);
        Path empty = Files.createFile(dir.resolve("e"));
        assertThat(Sha256.of(file)).isEqualTo(new Sha256.OfFile(data.length, sha256sum(file)));
        assertThat(Sha256.of(empty)).isEqualTo(new Sha256.OfFile(0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    private static String sha256sum(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sha256sum", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(p.waitFor()).as(out).isZero();
        return out.substring(0, 64);
    }

    /** A node without the library: nothing is found, so create() gives the JDK's digest. */
    @Test
    void aMissingLibraryIsNotFound() {
        assertThat(LibCrypto.load(List.of(Path.of("/usr/lib64/libcrypto.so.0.0.nothere")))).isEmpty();
        Path libc = io.nodecast.posix.SystemLibrary.candidates("x86_64", List.of("libcrypto.so.3")).stream().map(p -> p.resolveSibling("libc.so.6")).filter(Files::exists)
                .findFirst().orElseThrow();
        assertThat(LibCrypto.load(List.of(libc))).as("a library without EVP").isEmpty();
    }

    private static String hex(MessageDigest d, String s) {
        d.update(s.getBytes(StandardCharsets.US_ASCII));
        return Sha256.hex(d);
    }
}
