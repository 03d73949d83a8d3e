package io.nodecast.posix;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The low layer: every file call is a Linux system call made through libc's {@code syscall(2)}, with one downcall
 * handle of one shape (a number and six longs, errno captured). Nothing here interprets a result; {@link Sys}
 * turns -1 into a {@link PosixException}.
 *
 * <p>Why one shape: the JVM generates and loads a class for every distinct native call shape it links, tens of
 * milliseconds each when a JVM starts cold, which every node of a job does. A dozen libc wrappers of a dozen shapes
 * cost more than the unpacking of a small bundle; one {@code syscall} handle costs one. Pointers travel as their
 * addresses. The numbers are the kernel's, per architecture, checked against the kernel headers by a test.
 */
final class Libc {
    private Libc() {}

    static final Linker LINKER = Linker.nativeLinker();
    static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    static final long ERRNO_OFFSET = CAPTURE.byteOffset(MemoryLayout.PathElement.groupElement("errno"));

    /** The system call numbers of one architecture. */
    record Numbers(long read, long write, long close, long pwrite64, long flock, long ftruncate, long fchmod,
                   long getdents64, long openat, long mkdirat, long unlinkat, long renameat2, long linkat, long symlinkat,
                   long utimensat, long statx, long openat2, long geteuid, long ppoll, long pread64, long mmap, long munmap,
                   long madvise) {
        /** x86_64 (arch/x86/entry/syscalls/syscall_64.tbl). */
        static final Numbers X86_64 = new Numbers(0, 1, 3, 18, 73, 77, 91, 217, 257, 258, 263, 316, 265, 266, 280, 332, 437, 107, 271, 17,
                9, 11, 28);
        /** aarch64 and riscv64: the generic table (include/uapi/asm-generic/unistd.h). */
        static final Numbers GENERIC = new Numbers(63, 64, 57, 68, 32, 46, 52, 61, 56, 34, 35, 276, 37, 36, 88, 291, 437, 175, 73, 67,
                222, 215, 233);

        static Numbers of(String arch) {
            return switch (arch.toLowerCase(Locale.ROOT)) {
                case "amd64", "x86_64" -> X86_64;
                case "aarch64", "riscv64" -> GENERIC;
                default -> throw new IllegalStateException("nodecast knows the system calls of x86_64, aarch64 and riscv64 "
                        + "Linux, not of " + arch);
            };
        }
    }

    static final Numbers NR = Numbers.of(System.getProperty("os.arch"));
    private static final boolean X86 = NR == Numbers.X86_64;

    static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200, O_TRUNC = 01000, O_APPEND = 02000,
            O_CLOEXEC = 02000000, O_PATH = 010000000;
    static final int O_DIRECTORY = X86 ? 0200000 : 040000;
    static final int O_NOFOLLOW = X86 ? 0400000 : 0100000;
    static final int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    static final long RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04,
            RESOLVE_BENEATH = 0x08;
    static final long UTIME_OMIT = (1L << 30) - 2;
    static final int LOCK_EX = 2, LOCK_NB = 4;
    static final int STATX_BASIC = 0x7ff;
    static final short POLLIN = 1;
    static final long PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MADV_HUGEPAGE = 14;

    /** struct open_how: flags, mode, resolve (u64 each). */
    static final long OPEN_HOW_SIZE = 24;
    /** struct statx is 256 bytes on every architecture; these are the fields read. */
    static final long STATX_SIZE = 256, STX_NLINK = 16, STX_UID = 20, STX_MODE = 28, STX_INO = 32,
            STX_SIZE = 40, STX_MTIME = 112, STX_DEV_MAJOR = 136, STX_DEV_MINOR = 140;
    /** struct linux_dirent64, as getdents64(2) fills a buffer with them. */
    static final long D_RECLEN = 16, D_TYPE = 18, D_NAME = 19;

    /** {@code long syscall(long number, ...)} with six arguments; unused ones are passed as 0. */
    static final MethodHandle SYSCALL = LINKER.downcallHandle(
            LINKER.defaultLookup().find("syscall").orElseThrow(() -> new IllegalStateException("libc has no syscall")),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));

    static int errno(MemorySegment capture) {
        return capture.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
    }
}
