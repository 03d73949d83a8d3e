package io.nodecast.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A library of the node's system (libcrypto, liblzma, libbz2), opened by its absolute path and called through one
 * downcall handle of one shape: three 64-bit integers in and one out, the function's address first. As with the MPI
 * and system calls (transport.mpi.Native, {@link Libc}), every further shape would cost the JVM generated classes at
 * start; on the 64-bit Linux ABIs a pointer, a size_t or an int travels in a 64-bit register and a callee ignores the
 * arguments it does not declare. A function that returns an int leaves the upper half of the register undefined: its
 * caller casts the answer to int.
 *
 * @param path where it was found
 */
public record SystemLibrary(Path path, SymbolLookup symbols) {
    private static final MethodHandle CALL = Linker.nativeLinker().downcallHandle(FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));

    /** Where one shape serves every function: 64-bit Linux on the ABIs nodecast was checked on. */
    public static boolean supported() {
        return System.getProperty("os.name").equals("Linux")
                && List.of("amd64", "x86_64", "aarch64", "riscv64").contains(System.getProperty("os.arch"));
    }

    /**
     * Absolute paths in the system's library folders, RHEL's and SUSE's first, then Debian's: dlopen of a bare name
     * would search the runtime's folders and the working directory first, which may be on the shared file system.
     *
     * @param names the file names (sonames), in the order preferred
     */
    public static List<Path> candidates(String arch, List<String> names) {
        String multiarch = switch (arch) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            default -> arch + "-linux-gnu";
        };
        List<Path> paths = new ArrayList<>();
        for (String dir : List.of("/usr/lib64", "/usr/lib/" + multiarch, "/lib64", "/lib/" + multiarch)) {
            for (String name : names) paths.add(Path.of(dir, name));
        }
        return List.copyOf(paths);
    }

    /** The library at this path with every one of these functions; empty when it is not there, or lacks one. */
    public static Optional<SystemLibrary> open(Path path, List<String> functions) {
        if (!supported()) return Optional.empty();
        try {
            SymbolLookup lib = SymbolLookup.libraryLookup(path, Arena.global());
            for (String f : functions) {
                if (lib.find(f).isEmpty()) return Optional.empty();
            }
            return Optional.of(new SystemLibrary(path, lib));
        } catch (RuntimeException e) {
            return Optional.empty();   // not on this node, not a library, or native access refused
        }
    }

    /** The first of the candidates that {@link #open opens}. */
    public static Optional<SystemLibrary> first(List<String> names, List<String> functions) {
        for (Path p : candidates(System.getProperty("os.arch"), names)) {
            Optional<SystemLibrary> lib = open(p, functions);
            if (lib.isPresent()) return lib;
        }
        return Optional.empty();
    }

    public MemorySegment function(String name) {
        return symbols.find(name).orElseThrow(() -> new IllegalStateException(path + " has no " + name));
    }

    public static long call(MemorySegment function, long a, long b, long c) {
        try {
            return (long) CALL.invokeExact(function, a, b, c);
        } catch (Throwable t) {
            throw new IllegalStateException("a system library's call through FFM failed: " + t, t);   // a bug, not the user's
        }
    }
}
