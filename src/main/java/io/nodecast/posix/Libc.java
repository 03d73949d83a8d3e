package io.nodecast.posix;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The low layer: libc's file calls as downcall handles, each capturing errno, and the constants they take.
 * Nothing here interprets a result; {@link Sys} turns -1 into a {@link PosixException}.
 *
 * <p>Only calls glibc has had since 2.28 (RHEL 8) are used; openat2, which glibc does not wrap, goes through
 * {@code syscall(2)}. Flag values differ between architectures for O_DIRECTORY and O_NOFOLLOW only.
 */
final class Libc {
    private Libc() {}

    static final Linker LINKER = Linker.nativeLinker();
    static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    static final long ERRNO_OFFSET = CAPTURE.byteOffset(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");

    private static final boolean X86 = switch (System.getProperty("os.arch").toLowerCase(Locale.ROOT)) {
        case "amd64", "x86_64" -> true;
        case "aarch64", "ppc64le", "riscv64" -> false;
        default -> throw new IllegalStateException("nodecast knows the open(2) flags of x86_64, aarch64, ppc64le "
                + "and riscv64 Linux, not of " + System.getProperty("os.arch"));
    };

    static final int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0100, O_EXCL = 0200, O_TRUNC = 01000,
            O_CLOEXEC = 02000000, O_PATH = 010000000;
    static final int O_DIRECTORY = X86 ? 0200000 : 040000;
    static final int O_NOFOLLOW = X86 ? 0400000 : 0100000;
    static final int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    static final long RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04,
            RESOLVE_BENEATH = 0x08;
    static final long SYS_OPENAT2 = 437;  // the same number on every architecture (added after the unification)
    static final long SYS_GETDENTS64 = switch (System.getProperty("os.arch").toLowerCase(Locale.ROOT)) {
        case "amd64", "x86_64" -> 217;
        case "ppc64le" -> 202;
        default -> 61;   // aarch64, riscv64: the generic table
    };
    static final long UTIME_OMIT = (1L << 30) - 2;
    static final int LOCK_EX = 2, LOCK_NB = 4;
    static final int STATX_BASIC = 0x7ff;

    /** struct open_how: flags, mode, resolve (u64 each). */
    static final long OPEN_HOW_SIZE = 24;
    /** struct statx is 256 bytes on every architecture; these are the fields read. */
    static final long STATX_SIZE = 256, STX_NLINK = 16, STX_UID = 20, STX_MODE = 28, STX_INO = 32,
            STX_SIZE = 40, STX_MTIME = 112, STX_DEV_MAJOR = 136, STX_DEV_MINOR = 140;
    /** struct linux_dirent64, as getdents64(2) fills a buffer with them. */
    static final long D_RECLEN = 16, D_TYPE = 18, D_NAME = 19;

    static final MethodHandle OPENAT = variadic("openat", 3, FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle SYSCALL4 = variadic("syscall", 1,
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG));
    static final MethodHandle MKDIRAT = call("mkdirat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle SYMLINKAT = call("symlinkat", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    static final MethodHandle STATX = call("statx", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle FCHMOD = call("fchmod", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle FUTIMENS = call("futimens", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle UTIMENSAT = call("utimensat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle WRITE = call("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle CLOSE = call("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));


    // Calls most unpackings never make are linked on first use: each downcall handle costs the JVM a generated
    // class at start-up, which every rank of every node pays.
    static final class Syscall3 {
        static final MethodHandle H = variadic("syscall", 1,
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG));
    }

    static final class Linkat {
        static final MethodHandle H = call("linkat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
    }

    static final class Unlinkat {
        static final MethodHandle H = call("unlinkat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    static final class Renameat {
        static final MethodHandle H = call("renameat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    }

    static final class Pwrite {
        static final MethodHandle H = call("pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    }

    static final class Read {
        static final MethodHandle H = call("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }

    static final class Ftruncate {
        static final MethodHandle H = call("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    }

    static final class Flock {
        static final MethodHandle H = call("flock", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }

    static final class Geteuid {
        static final MethodHandle H = LINKER.downcallHandle(symbol("geteuid"), FunctionDescriptor.of(JAVA_INT));
    }

    private static MemorySegment symbol(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name));
    }

    private static MethodHandle call(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(symbol(name), fd, ERRNO);
    }

    private static MethodHandle variadic(String name, int firstVariadic, FunctionDescriptor fd) {
        return LINKER.downcallHandle(symbol(name), fd, ERRNO, Linker.Option.firstVariadicArg(firstVariadic));
    }

    static int errno(MemorySegment capture) {
        return capture.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
    }
}
