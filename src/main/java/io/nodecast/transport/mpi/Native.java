package io.nodecast.transport.mpi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Arrays;
import java.util.Collections;
import java.util.Optional;

/**
 * The low layer: libc's dlopen, dlsym and setenv through the FFM API, and downcalls to what dlsym finds.
 *
 * <p>Every downcall has one native shape, seven 64-bit integers in and one out ({@link #SHAPE}), adapted to each
 * function's Java type: the FFM linker spends tens of milliseconds on each new shape the first time, and every rank
 * of a job pays that at start (0.15 s for MPI's twenty functions here, against 0.02 s now). On the 64-bit Linux ABIs
 * (x86-64 SysV, AArch64, RISC-V) an int or a pointer travels in a 64-bit register or stack slot, an int result is
 * the low half of one, and a callee ignores arguments it does not declare (the caller removes them): the same calls
 * as with exact descriptors. Other architectures get exact descriptors.
 *
 * <p>The MPI library is opened RTLD_NOW|RTLD_GLOBAL, not with {@code SymbolLookup.libraryLookup} (RTLD_LOCAL):
 * Open MPI's components reference {@code ompi_*} symbols without linking libmpi and need them global.
 */
final class Native {
    private static final int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final int ARGS = 7;
    static final FunctionDescriptor SHAPE = FunctionDescriptor.of(ValueLayout.JAVA_LONG, Collections.nCopies(ARGS,
            (MemoryLayout) ValueLayout.JAVA_LONG).toArray(MemoryLayout[]::new));
    private static final boolean ONE_SHAPE = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64", "aarch64", "riscv64" -> true;
        default -> false;
    };
    private static final MethodHandle ADDRESS_OF, SEGMENT_AT;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            ADDRESS_OF = lookup.findStatic(Native.class, "addressOf", MethodType.methodType(long.class, MemorySegment.class));
            SEGMENT_AT = lookup.findStatic(MemorySegment.class, "ofAddress", MethodType.methodType(MemorySegment.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final MethodHandle DLOPEN = libc("dlopen", ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    private static final MethodHandle DLSYM = libc("dlsym", ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS);
    private static final MethodHandle DLERROR = libc("dlerror", ValueLayout.ADDRESS);
    private static final MethodHandle SETENV = libc("setenv", ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);

    private final MemorySegment handle;
    private final String path;

    private Native(MemorySegment handle, String path) {
        this.handle = handle;
        this.path = path;
    }

    private static MethodHandle libc(String name, ValueLayout result, ValueLayout... params) {
        MemorySegment addr = LINKER.defaultLookup().find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name));
        return downcall(addr, result, params);
    }

    /**
     * A downcall to fn whose Java type is the carriers of the layouts (int, long, MemorySegment), through {@link #SHAPE}
     * where the ABI allows it.
     */
    static MethodHandle downcall(MemorySegment fn, ValueLayout result, ValueLayout... params) {
        if (!ONE_SHAPE || params.length > ARGS) return LINKER.downcallHandle(fn, FunctionDescriptor.of(result, params));
        MethodHandle mh = LINKER.downcallHandle(fn, SHAPE);
        Object[] unused = new Object[ARGS - params.length];
        Arrays.fill(unused, 0L);
        mh = MethodHandles.insertArguments(mh, params.length, unused);
        Class<?>[] types = new Class<?>[params.length];
        for (int i = 0; i < params.length; i++) {
            types[i] = params[i].carrier();
            if (types[i] == MemorySegment.class) mh = MethodHandles.filterArguments(mh, i, ADDRESS_OF);
        }
        if (result.carrier() == MemorySegment.class) mh = MethodHandles.filterReturnValue(mh, SEGMENT_AT);
        // int arguments widen to long (sign-extended, as RISC-V wants), an int result is the low half
        return MethodHandles.explicitCastArguments(mh, MethodType.methodType(result.carrier(), types));
    }

    /** A native segment's address; a heap segment has none a C function could use (FFM refuses it too). */
    private static long addressOf(MemorySegment s) {
        if (!s.isNative()) throw new IllegalArgumentException("a Java heap segment cannot be passed to C");
        return s.address();
    }

    /** @return the opened library, or the loader's reason it could not be opened */
    static Result open(String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = (MemorySegment) DLOPEN.invokeExact(a.allocateFrom(path), RTLD_NOW | RTLD_GLOBAL);
            if (h.equals(MemorySegment.NULL)) {
                MemorySegment err = (MemorySegment) DLERROR.invokeExact();
                return new Result(null, err.equals(MemorySegment.NULL) ? "unknown error" : err.reinterpret(4096).getString(0));
            }
            return new Result(new Native(h, path), null);
        } catch (Throwable t) {
            throw new IllegalStateException("dlopen through FFM failed", t);
        }
    }

    record Result(Native lib, String error) {}

    String path() {
        return path;
    }

    Optional<MemorySegment> symbol(String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = (MemorySegment) DLSYM.invokeExact(handle, a.allocateFrom(name));
            return s.equals(MemorySegment.NULL) ? Optional.empty() : Optional.of(s);
        } catch (Throwable t) {
            throw new IllegalStateException("dlsym through FFM failed", t);
        }
    }

    MethodHandle function(String name, ValueLayout result, ValueLayout... params) {
        MemorySegment s = symbol(name).orElseThrow(() -> new IllegalStateException(path + " has no " + name));
        return downcall(s, result, params);
    }

    /** Sets a variable in the C environment, which is what libraries read (System.getenv is a copy). */
    static void setenvIfAbsent(String name, String value) {
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) SETENV.invokeExact(a.allocateFrom(name), a.allocateFrom(value), 0);
            if (rc != 0) throw new IllegalStateException("setenv " + name + " failed");
        } catch (Throwable t) {
            throw new IllegalStateException("setenv through FFM failed", t);
        }
    }
}
