package io.nodecast.digest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256, the checksum of every bundle: computed by OpenSSL's libcrypto (through the FFM API) where the node has one,
 * else by the JDK.
 *
 * <p>The JDK hashes at the processor's speed only once C2, its optimising compiler, has compiled SHA-256 to the
 * processor's SHA instructions (16 MiB in 12.6 ms); compiled by C1 alone it hashes about 0.2 GB/s. A step lives seconds, and without C2 it
 * takes a fifth less CPU (bin/nodecast starts it so, BENCHMARKS.md section 8): libcrypto hashes at full speed from the
 * first byte, with no compiler at all. libcrypto.so.3 (OpenSSL 3) and libcrypto.so.1.1 are looked for; both keep
 * the EVP calls used here.
 */
public final class Sha256 {
    private Sha256() {}

    /** A new digest: libcrypto's if it was found and gave the right answer for a known input, else the JDK's. */
    public static MessageDigest create() {
        return LibCrypto.INSTANCE.<MessageDigest>map(OpenSslDigest::new).orElseGet(Sha256::jdk);
    }

    /** The JDK's digest, whatever the node has. */
    public static MessageDigest jdk() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this Java runtime has no SHA-256", e);
        }
    }

    /** Which one {@link #create} gives, as --version says it. */
    public static String implementation() {
        return LibCrypto.INSTANCE.map(LibCrypto::describe).orElse("the JDK's (no usable libcrypto.so.3 or libcrypto.so.1.1)");
    }

    /** Whether {@link #create} gives libcrypto's digest. */
    public static boolean usesLibCrypto() {
        return LibCrypto.INSTANCE.isPresent();
    }

    public static String hex(MessageDigest d) {
        return HexFormat.of().formatHex(d.digest());
    }

    /** A whole file's digest, and how many bytes it had. */
    public record OfFile(long bytes, String hex) {}

    /** Reads the file once, from start to end. */
    public static OfFile of(Path file) throws IOException {
        MessageDigest md = create();
        long bytes = 0;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; bytes += n) md.update(buf, 0, n);
        }
        return new OfFile(bytes, hex(md));
    }
}
