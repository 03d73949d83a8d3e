package io.nodecast.transport.mpi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The low layer: libc's dlopen, dlsym and setenv through the FFM API, and downcalls to what dlsym finds.
 *
 * <p>The MPI library is opened RTLD_NOW|RTLD_GLOBAL, not with {@code SymbolLookup.libraryLookup} (RTLD_LOCAL):
 * Open MPI's components reference {@code ompi_*} symbols without linking libmpi and need them global.
 */
final class Native {
    private static final int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle DLOPEN = libc("dlopen", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle DLSYM = libc("dlsym", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle DLERROR = libc("dlerror", FunctionDescriptor.of(ValueLayout.ADDRESS));
    private static final MethodHandle SETENV = libc("setenv", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private final MemorySegment handle;
    private final String path;

    private Native(MemorySegment handle, String path) {
        this.handle = handle;
        this.path = path;
    }

    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        MemorySegment addr = LINKER.defaultLookup().find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name));
        return LINKER.downcallHandle(addr, fd);
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

    MethodHandle function(String name, FunctionDescriptor fd) {
        MemorySegment s = symbol(name).orElseThrow(() -> new IllegalStateException(path + " has no " + name));
        return LINKER.downcallHandle(s, fd);
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
