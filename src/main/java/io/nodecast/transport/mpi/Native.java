package io.nodecast.transport.mpi;

import io.nodecast.posix.SystemLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Collections;
import java.util.Optional;

/**
 * The low layer: libc's dlopen, dlsym and setenv through the FFM API, and calls to what dlsym finds.
 *
 * <p>Every call goes through one downcall handle of one native shape, seven 64-bit integers in and one out
 * ({@link #SHAPE}), with the function's address as its first argument ({@link Function}). The FFM linker spins
 * classes for each new shape, and each method-handle adapter spins more: typed handles per function cost a rank
 * about 210 generated classes at start, and the class-file code that makes them is most of what its JIT compiles
 * early (every rank of a job pays that, eight of them at once on the test bed's 2 cores). On the 64-bit Linux ABIs
 * (x86-64 SysV, AArch64, RISC-V; {@link #open} refuses others) an int or a pointer travels
 * in a 64-bit register or stack slot, an int result is the low half of one, and a callee ignores arguments it does
 * not declare (the caller removes them): the same calls as with exact descriptors. So the widening (an int
 * sign-extended, as RISC-V wants), the pointers' addresses and the narrowing of an int result are plain Java casts.
 *
 * <p>The MPI library is opened RTLD_NOW|RTLD_GLOBAL, not with {@code SymbolLookup.libraryLookup} (RTLD_LOCAL):
 * Open MPI's components reference {@code ompi_*} symbols without linking libmpi and need them global.
 */
final class Native {
    private static final int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final FunctionDescriptor SHAPE = FunctionDescriptor.of(ValueLayout.JAVA_LONG, Collections.nCopies(7,
            (MemoryLayout) ValueLayout.JAVA_LONG).toArray(MemoryLayout[]::new));
    private static final String ARCH = System.getProperty("os.arch");
    private static final boolean ONE_SHAPE_ABI = SystemLibrary.supported();
    /** (address, seven longs) -> long: the only downcall handle, so the only shape linked. */
    private static final MethodHandle CALL = LINKER.downcallHandle(SHAPE);

    private static final Function DLOPEN = libc("dlopen"), DLSYM = libc("dlsym"), DLERROR = libc("dlerror"),
            SETENV = libc("setenv");

    private final MemorySegment handle;
    private final String path;

    private Native(MemorySegment handle, String path) {
        this.handle = handle;
        this.path = path;
    }

    /** A C function of at most seven integer or pointer arguments that returns an integer, a pointer or nothing. */
    record Function(String name, MemorySegment address) {
        long call(long a, long b, long c, long d, long e, long f, long g) {
            try {
                return (long) CALL.invokeExact(address, a, b, c, d, e, f, g);
            } catch (Throwable t) {
                throw new IllegalStateException(name + " through FFM failed: " + t, t);  // a bug, not the user's
            }
        }

        long call() { return call(0, 0, 0, 0, 0, 0, 0); }
        long call(long a) { return call(a, 0, 0, 0, 0, 0, 0); }
        long call(long a, long b) { return call(a, b, 0, 0, 0, 0, 0); }
        long call(long a, long b, long c) { return call(a, b, c, 0, 0, 0, 0); }
        long call(long a, long b, long c, long d) { return call(a, b, c, d, 0, 0, 0); }
        long call(long a, long b, long c, long d, long e) { return call(a, b, c, d, e, 0, 0); }
        long call(long a, long b, long c, long d, long e, long f) { return call(a, b, c, d, e, f, 0); }
    }

    /** What C receives for a pointer: a native segment's address. A heap segment has none C could use. */
    static long ptr(MemorySegment s) {
        if (!s.isNative()) throw new IllegalArgumentException("a Java heap segment cannot be passed to C");
        return s.address();
    }

    private static Function libc(String name) {
        return new Function(name, LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("libc has no " + name)));
    }

    /** @return the opened library, or the loader's reason it could not be opened */
    static Result open(String path) {
        if (!ONE_SHAPE_ABI) return new Result(null, "nodecast calls MPI on x86_64, aarch64 and riscv64 Linux, not on " + ARCH);
        try (Arena a = Arena.ofConfined()) {
            long h = DLOPEN.call(ptr(a.allocateFrom(path)), RTLD_NOW | RTLD_GLOBAL);
            if (h == 0) {
                long err = DLERROR.call();
                return new Result(null, err == 0 ? "unknown error" : MemorySegment.ofAddress(err).reinterpret(4096).getString(0));
            }
            return new Result(new Native(MemorySegment.ofAddress(h), path), null);
        }
    }

    record Result(Native lib, String error) {}

    String path() {
        return path;
    }

    Optional<MemorySegment> symbol(String name) {
        try (Arena a = Arena.ofConfined()) {
            long s = DLSYM.call(handle.address(), ptr(a.allocateFrom(name)));
            return s == 0 ? Optional.empty() : Optional.of(MemorySegment.ofAddress(s));
        }
    }

    Function function(String name) {
        return new Function(name, symbol(name).orElseThrow(() -> new IllegalStateException(path + " has no " + name)));
    }

    /** Sets a variable in the C environment, which is what libraries read (System.getenv is a copy). */
    static void setenvIfAbsent(String name, String value) {
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) SETENV.call(ptr(a.allocateFrom(name)), ptr(a.allocateFrom(value)), 0);
            if (rc != 0) throw new IllegalStateException("setenv " + name + " failed");
        }
    }
}
