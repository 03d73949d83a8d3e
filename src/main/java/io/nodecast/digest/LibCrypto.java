package io.nodecast.digest;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The EVP functions of libcrypto that hash, called through one downcall handle of one shape: three 64-bit integers
 * in and one out, the function's address first. As with the MPI and system calls (transport.mpi.Native, posix.Libc),
 * every further shape would cost the JVM generated classes at start; on the 64-bit Linux ABIs a pointer, a size_t or
 * an int travels in a 64-bit register and a callee ignores the arguments it does not declare.
 *
 * @param path    the library file
 * @param version what OpenSSL_version says
 * @param sha256  the algorithm, EVP_sha256's answer, looked up once
 */
record LibCrypto(Path path, String version, long sha256, MemorySegment ctxNew, MemorySegment ctxFree,
                 MemorySegment init, MemorySegment update, MemorySegment fin) {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle CALL = LINKER.downcallHandle(FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    /**
     * Absolute paths in the system's library folders, RHEL's and SUSE's first, then Debian's: dlopen of a bare name
     * would search the runtime's folders and the working directory first, which may be on the shared file system.
     */
    private static final List<Path> PATHS = candidates(System.getProperty("os.arch"));
    private static final String ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    /** After the constants load() uses. */
    static final Optional<LibCrypto> INSTANCE = load(PATHS);

    String describe() {
        return version + " (" + path + ")";
    }

    /** The first of these that loads, has the functions, and hashes "abc" right; none on other platforms. */
    static Optional<LibCrypto> load(List<Path> paths) {
        String arch = System.getProperty("os.arch");
        if (!List.of("amd64", "x86_64", "aarch64", "riscv64").contains(arch) || !System.getProperty("os.name").equals("Linux")) {
            return Optional.empty();
        }
        for (Path path : paths) {
            try {
                SymbolLookup lib = SymbolLookup.libraryLookup(path, Arena.global());
                MemorySegment versionOf = lib.find("OpenSSL_version").orElse(MemorySegment.NULL);
                String version = versionOf.equals(MemorySegment.NULL) ? "OpenSSL"
                        : MemorySegment.ofAddress(call(versionOf, 0, 0, 0)).reinterpret(256).getString(0, StandardCharsets.US_ASCII);
                long md = call(need(lib, "EVP_sha256"), 0, 0, 0);
                if (md == 0) continue;
                LibCrypto c = new LibCrypto(path, version, md, need(lib, "EVP_MD_CTX_new"),
                        need(lib, "EVP_MD_CTX_free"), need(lib, "EVP_DigestInit_ex"), need(lib, "EVP_DigestUpdate"),
                        need(lib, "EVP_DigestFinal_ex"));
                if (c.knownAnswer()) return Optional.of(c);
            } catch (RuntimeException e) {
                // not on this node, not usable, or native access refused: the next path, then the JDK
            }
        }
        return Optional.empty();
    }

    static List<Path> candidates(String arch) {
        String multiarch = switch (arch) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            default -> arch + "-linux-gnu";
        };
        List<Path> paths = new ArrayList<>();
        for (String dir : List.of("/usr/lib64", "/usr/lib/" + multiarch, "/lib64", "/lib/" + multiarch)) {
            for (String name : List.of("libcrypto.so.3", "libcrypto.so.1.1")) paths.add(Path.of(dir, name));
        }
        return List.copyOf(paths);
    }

    private static MemorySegment need(SymbolLookup lib, String symbol) {
        return lib.find(symbol).orElseThrow(() -> new IllegalStateException("no " + symbol));
    }

    private boolean knownAnswer() {
        OpenSslDigest d = new OpenSslDigest(this);
        d.update("abc".getBytes(StandardCharsets.US_ASCII));
        return HexFormat.of().formatHex(d.digest()).equals(ABC);
    }

    static long call(MemorySegment function, long a, long b, long c) {
        try {
            return (long) CALL.invokeExact(function, a, b, c);
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto through FFM failed: " + t, t);   // a bug, not the user's
        }
    }
}
