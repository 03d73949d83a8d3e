package io.nodecast.digest;

import io.nodecast.posix.SystemLibrary;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The EVP functions of libcrypto that hash, called as every system library is ({@link SystemLibrary}).
 *
 * @param path    the library file
 * @param version what OpenSSL_version says
 * @param sha256  the algorithm, EVP_sha256's answer, looked up once
 */
record LibCrypto(Path path, String version, long sha256, MemorySegment ctxNew, MemorySegment ctxFree,
                 MemorySegment init, MemorySegment update, MemorySegment fin) {

    private static final List<String> FUNCTIONS = List.of("EVP_sha256", "EVP_MD_CTX_new", "EVP_MD_CTX_free",
            "EVP_DigestInit_ex", "EVP_DigestUpdate", "EVP_DigestFinal_ex");
    private static final List<Path> PATHS = SystemLibrary.candidates(System.getProperty("os.arch"),
            List.of("libcrypto.so.3", "libcrypto.so.1.1"));
    private static final String ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    /** After the constants load() uses. */
    static final Optional<LibCrypto> INSTANCE = load(PATHS);

    String describe() {
        return version + " (" + path + ")";
    }

    /** The first of these that loads, has the functions, and hashes "abc" right; none on other platforms. */
    static Optional<LibCrypto> load(List<Path> paths) {
        for (Path path : paths) {
            Optional<SystemLibrary> found = SystemLibrary.open(path, FUNCTIONS);
            if (found.isEmpty()) continue;
            try {
                SystemLibrary lib = found.get();
                MemorySegment versionOf = lib.symbols().find("OpenSSL_version").orElse(MemorySegment.NULL);
                String version = versionOf.equals(MemorySegment.NULL) ? "OpenSSL"
                        : MemorySegment.ofAddress(SystemLibrary.call(versionOf, 0, 0, 0)).reinterpret(256).getString(0, StandardCharsets.US_ASCII);
                long md = SystemLibrary.call(lib.function("EVP_sha256"), 0, 0, 0);
                if (md == 0) continue;
                LibCrypto c = new LibCrypto(path, version, md, lib.function("EVP_MD_CTX_new"), lib.function("EVP_MD_CTX_free"),
                        lib.function("EVP_DigestInit_ex"), lib.function("EVP_DigestUpdate"), lib.function("EVP_DigestFinal_ex"));
                if (c.knownAnswer()) return Optional.of(c);
            } catch (RuntimeException e) {
                // not usable: the next path, then the JDK
            }
        }
        return Optional.empty();
    }

    private boolean knownAnswer() {
        OpenSslDigest d = new OpenSslDigest(this);
        d.update("abc".getBytes(StandardCharsets.US_ASCII));
        return HexFormat.of().formatHex(d.digest()).equals(ABC);
    }
}
