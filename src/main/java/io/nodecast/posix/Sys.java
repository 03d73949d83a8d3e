package io.nodecast.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static io.nodecast.posix.Libc.*;

/**
 * Typed, checked file calls for one thread: every -1 becomes a {@link PosixException} naming the call and the
 * path. Names are byte arrays, as the kernel sees them (an archive may hold names that are not UTF-8).
 *
 * <p>An instance owns native scratch memory (path strings, errno, struct buffers) and must stay on the thread
 * that made it; each thread that calls the kernel makes its own.
 */
public final class Sys implements AutoCloseable {
    public static final int O_RDONLY = Libc.O_RDONLY, O_WRONLY = Libc.O_WRONLY, O_RDWR = Libc.O_RDWR, O_CREAT = Libc.O_CREAT,
            O_EXCL = Libc.O_EXCL, O_TRUNC = Libc.O_TRUNC, O_APPEND = Libc.O_APPEND, O_CLOEXEC = Libc.O_CLOEXEC, O_PATH = Libc.O_PATH,
            O_DIRECTORY = Libc.O_DIRECTORY, O_NOFOLLOW = Libc.O_NOFOLLOW;
    public static final int AT_FDCWD = Libc.AT_FDCWD, AT_SYMLINK_NOFOLLOW = Libc.AT_SYMLINK_NOFOLLOW,
            AT_REMOVEDIR = Libc.AT_REMOVEDIR;
    public static final long RESOLVE_BENEATH = Libc.RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS = Libc.RESOLVE_NO_SYMLINKS,
            RESOLVE_NO_MAGICLINKS = Libc.RESOLVE_NO_MAGICLINKS, RESOLVE_NO_XDEV = Libc.RESOLVE_NO_XDEV;
    public static final int DT_DIR = 4, DT_LNK = 10, DT_UNKNOWN = 0;

    private static final int PATH_SLOT = 4096 + 1;
    private static final int HEAP_WRITE_BYTES = 1 << 20;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment capture = arena.allocate(CAPTURE);
    private final MemorySegment path1 = arena.allocate(PATH_SLOT);
    private final MemorySegment path2 = arena.allocate(PATH_SLOT);
    private final MemorySegment how = arena.allocate(OPEN_HOW_SIZE, 8);
    private final MemorySegment statx = arena.allocate(STATX_SIZE, 8);
    private final MemorySegment times = arena.allocate(32, 8);
    /** struct pollfd {int fd; short events; short revents}, then a struct timespec for ppoll's timeout. */
    private final MemorySegment poll = arena.allocate(32, 8);
    private final MemorySegment empty = arena.allocate(1);
    private static final long DENTS_SIZE = 32 << 10;
    private MemorySegment dents;   // made by the first list(): few threads ever list a directory

    /** A file's type, permissions, owner, size, link count and modification time, never following a link. */
    public record Stat(int mode, int uid, long size, int nlink, long inode, long device, long mtimeSeconds, int mtimeNanos) {
        public boolean isDirectory() {
            return (mode & 0170000) == 0040000;
        }

        public boolean isRegular() {
            return (mode & 0170000) == 0100000;
        }

        public boolean isSymlink() {
            return (mode & 0170000) == 0120000;
        }

        public int permissions() {
            return mode & 07777;
        }
    }

    /** One name in a directory, with the type readdir reports (DT_UNKNOWN on some file systems). */
    public record DirEntry(byte[] name, int type) {}

    /** One system call; -1 with errno in the capture segment on failure (libc's syscall(2) convention). */
    private long sc(long nr, long a, long b, long c, long d, long e, long f) {
        try {
            return (long) SYSCALL.invokeExact(capture, nr, a, b, c, d, e, f);
        } catch (Throwable t) {
            throw downcall(t);
        }
    }

    /** Retries a call interrupted by a signal (the JVM uses signals; a slow file system can be interrupted). */
    private long call(long nr, long a, long b, long c, long d, long e, long f) {
        long r;
        do {
            r = sc(nr, a, b, c, d, e, f);
        } while (r < 0 && errno(capture) == Errno.EINTR);
        return r;
    }

    /**
     * openat2(2) with a resolve mask: the kernel refuses to leave {@code dirfd} ({@code RESOLVE_BENEATH}) or to
     * follow a link ({@code RESOLVE_NO_SYMLINKS}) at any step of {@code path}.
     * @throws PosixException with ENOSYS on kernels before 5.6
     */
    public int openat2(int dirfd, byte[] path, int flags, int mode, long resolve) throws PosixException {
        how.set(ValueLayout.JAVA_LONG, 0, flags & 0xFFFFFFFFL);
        how.set(ValueLayout.JAVA_LONG, 8, mode);
        how.set(ValueLayout.JAVA_LONG, 16, resolve);
        long fd = call(NR.openat2(), dirfd, cstr(path1, path), how.address(), OPEN_HOW_SIZE, 0, 0);
        if (fd < 0) throw failed("openat2", path);
        return (int) fd;
    }

    public int openat(int dirfd, byte[] path, int flags, int mode) throws PosixException {
        long fd = call(NR.openat(), dirfd, cstr(path1, path), flags, mode, 0, 0);
        if (fd < 0) throw failed("open", path);
        return (int) fd;
    }

    public void mkdirat(int dirfd, byte[] name, int mode) throws PosixException {
        if (call(NR.mkdirat(), dirfd, cstr(path1, name), mode, 0, 0, 0) != 0) throw failed("mkdir", name);
    }

    public void symlinkat(byte[] target, int dirfd, byte[] name) throws PosixException {
        if (call(NR.symlinkat(), cstr(path2, target), dirfd, cstr(path1, name), 0, 0, 0) != 0) throw failed("symlink", name);
    }

    public void linkat(int olddir, byte[] oldname, int newdir, byte[] newname, int flags) throws PosixException {
        if (call(NR.linkat(), olddir, cstr(path2, oldname), newdir, cstr(path1, newname), flags, 0) != 0) {
            throw failed("link", newname);
        }
    }

    public void unlinkat(int dirfd, byte[] name, int flags) throws PosixException {
        if (call(NR.unlinkat(), dirfd, cstr(path1, name), flags, 0, 0, 0) != 0) throw failed("unlink", name);
    }

    public void renameat(int olddir, byte[] oldname, int newdir, byte[] newname) throws PosixException {
        if (call(NR.renameat2(), olddir, cstr(path2, oldname), newdir, cstr(path1, newname), 0, 0) != 0) {
            throw failed("rename", newname);
        }
    }

    /** lstat of a name relative to {@code dirfd}; null when it does not exist. */
    public Stat lstatat(int dirfd, byte[] name) throws PosixException {
        if (call(NR.statx(), dirfd, cstr(path1, name), AT_SYMLINK_NOFOLLOW, STATX_BASIC, statx.address(), 0) != 0) {
            if (errno(capture) == Errno.ENOENT) return null;
            throw failed("stat", name);
        }
        return stat();
    }

    public Stat fstat(int fd) throws PosixException {
        if (call(NR.statx(), fd, empty.address(), AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC, statx.address(), 0) != 0) {
            throw failed("fstat", new byte[0]);
        }
        return stat();
    }

    private Stat stat() {
        long dev = ((long) statx.get(ValueLayout.JAVA_INT, STX_DEV_MAJOR) << 32) | (statx.get(ValueLayout.JAVA_INT, STX_DEV_MINOR) & 0xFFFFFFFFL);
        return new Stat(statx.get(ValueLayout.JAVA_SHORT, STX_MODE) & 0xFFFF, statx.get(ValueLayout.JAVA_INT, STX_UID),
                statx.get(ValueLayout.JAVA_LONG, STX_SIZE), statx.get(ValueLayout.JAVA_INT, STX_NLINK),
                statx.get(ValueLayout.JAVA_LONG, STX_INO), dev, statx.get(ValueLayout.JAVA_LONG, STX_MTIME),
                statx.get(ValueLayout.JAVA_INT, STX_MTIME + 8));
    }

    public void fchmod(int fd, int mode) throws PosixException {
        if (call(NR.fchmod(), fd, mode, 0, 0, 0, 0) != 0) throw failed("chmod", new byte[0]);
    }

    /** Sets the modification time of an open file; the access time is left alone. */
    public void futimens(int fd, long seconds, int nanos) throws PosixException {
        setTimes(seconds, nanos);
        // utimensat with a NULL path acts on the descriptor itself: what glibc's futimens does
        if (call(NR.utimensat(), fd, 0, times.address(), 0, 0, 0) != 0) throw failed("utimens", new byte[0]);
    }

    /** The modification time of a name in {@code dirfd}, of the link itself when it is one. */
    public void lutimensat(int dirfd, byte[] name, long seconds, int nanos) throws PosixException {
        setTimes(seconds, nanos);
        if (call(NR.utimensat(), dirfd, cstr(path1, name), times.address(), AT_SYMLINK_NOFOLLOW, 0, 0) != 0) {
            throw failed("utimens", name);
        }
    }

    private void setTimes(long seconds, int nanos) {
        times.set(ValueLayout.JAVA_LONG, 0, 0);
        times.set(ValueLayout.JAVA_LONG, 8, UTIME_OMIT);
        times.set(ValueLayout.JAVA_LONG, 16, seconds);
        times.set(ValueLayout.JAVA_LONG, 24, nanos);
    }

    /** Writes all of {@code length} bytes at {@code data}, retrying short writes. */
    public void writeFully(int fd, MemorySegment data, long length) throws PosixException {
        long at = data.address();
        long done = 0;
        while (done < length) {
            long n = call(NR.write(), fd, at + done, length - done, 0, 0, 0);
            if (n < 0) throw failed("write", new byte[0]);
            done += n;
        }
    }

    /** Writes all of {@code length} bytes at file offset {@code offset} (sparse files). */
    public void pwriteFully(int fd, MemorySegment data, long length, long offset) throws PosixException {
        long at = data.address();
        long done = 0;
        while (done < length) {
            long n = call(NR.pwrite64(), fd, at + done, length - done, offset + done, 0, 0);
            if (n < 0) throw failed("write", new byte[0]);
            done += n;
        }
    }

    /**
     * Writes bytes from the heap at file offset {@code offset}, or where the last write ended when it is negative,
     * through native memory of at most {@value #HEAP_WRITE_BYTES} bytes.
     */
    public void write(int fd, byte[] data, long offset) throws PosixException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.clamp(data.length, 1, HEAP_WRITE_BYTES));
            for (int at = 0; at < data.length; at += (int) buf.byteSize()) {
                int n = (int) Math.min(buf.byteSize(), data.length - at);
                MemorySegment.copy(data, at, buf, ValueLayout.JAVA_BYTE, 0, n);
                if (offset < 0) writeFully(fd, buf, n);
                else pwriteFully(fd, buf, n, offset + at);
            }
        }
    }

    /** Reads up to {@code length} bytes into native memory; 0 at the end of the file. */
    public long read(int fd, MemorySegment into, long length) throws PosixException {
        long n = call(NR.read(), fd, into.address(), Math.min(length, into.byteSize()), 0, 0, 0);
        if (n < 0) throw failed("read", new byte[0]);
        return n;
    }

    /** Reads up to {@code length} bytes at file offset {@code offset}, whatever the descriptor's own offset. */
    public long pread(int fd, MemorySegment into, long length, long offset) throws PosixException {
        long n = call(NR.pread64(), fd, into.address(), Math.min(length, into.byteSize()), offset, 0, 0);
        if (n < 0) throw failed("read", new byte[0]);
        return n;
    }

    /** Whether {@code fd} has data to read (or its end) within {@code millis}; false when the time runs out. */
    public boolean awaitReadable(int fd, long millis) throws PosixException {
        MemorySegment pollfd = poll;
        pollfd.set(ValueLayout.JAVA_INT, 0, fd);
        pollfd.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
        pollfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        pollfd.set(ValueLayout.JAVA_LONG, 16, millis / 1000);
        pollfd.set(ValueLayout.JAVA_LONG, 24, millis % 1000 * 1_000_000);
        long n = call(NR.ppoll(), pollfd.address(), 1, pollfd.address() + 16, 0, 0, 0);
        if (n < 0) throw failed("poll", new byte[0]);
        return n > 0;
    }

    public void ftruncate(int fd, long length) throws PosixException {
        if (call(NR.ftruncate(), fd, length, 0, 0, 0, 0) != 0) throw failed("truncate", new byte[0]);
    }

    /** Closes fd; a failed close of a file just written can mean lost data (NFS, quotas), so it is reported. */
    public void close(int fd) throws PosixException {
        // never retried: after EINTR the descriptor is already released on Linux
        if (sc(NR.close(), fd, 0, 0, 0, 0, 0) != 0 && errno(capture) != Errno.EINTR) throw failed("close", new byte[0]);
    }

    /** For clean-up paths, where the first failure is the one worth reporting. */
    public void closeQuietly(int fd) {
        if (fd < 0) return;
        sc(NR.close(), fd, 0, 0, 0, 0, 0);
    }

    /** An exclusive flock on fd; false if another process holds it and {@code wait} is false. */
    public boolean lockExclusive(int fd, boolean wait) throws PosixException {
        if (call(NR.flock(), fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB, 0, 0, 0, 0) == 0) return true;
        if (errno(capture) == Errno.EAGAIN && !wait) return false;
        throw failed("flock", new byte[0]);
    }

    /** The names in an open directory (not "." and ".."); {@code dirfd} stays open and its position untouched. */
    public List<DirEntry> list(int dirfd) throws PosixException {
        int copy = openat(dirfd, new byte[] {'.'}, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (dents == null) dents = arena.allocate(DENTS_SIZE, 8);
        List<DirEntry> out = new ArrayList<>();
        try {
            while (true) {
                long n = call(NR.getdents64(), copy, dents.address(), DENTS_SIZE, 0, 0, 0);
                if (n < 0) throw failed("getdents64", new byte[0]);
                if (n == 0) break;
                for (long at = 0; at < n; ) {
                    int reclen = dents.get(ValueLayout.JAVA_SHORT, at + D_RECLEN) & 0xFFFF;
                    int type = dents.get(ValueLayout.JAVA_BYTE, at + D_TYPE) & 0xFF;
                    long len = 0;
                    while (dents.get(ValueLayout.JAVA_BYTE, at + D_NAME + len) != 0) len++;
                    byte[] name = dents.asSlice(at + D_NAME, len).toArray(ValueLayout.JAVA_BYTE);
                    at += reclen;
                    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) continue;
                    out.add(new DirEntry(name, type));
                }
            }
        } finally {
            closeQuietly(copy);
        }
        return out;
    }

    /**
     * Links the system-call handle and makes one call through it, so that the first file call of an unpacking does
     * not pay for it: the JVM generates about 30 classes for the handle, on every node, and in the first chunks of
     * a stream that delays every hop after it. Never throws: what fails here fails again, and is reported, where
     * the files are written.
     */
    public static void link() {
        try (Sys sys = new Sys()) {
            sys.geteuid();
        } catch (RuntimeException | LinkageError e) {
            // reported by the first real call
        }
    }

    /** A private anonymous mapping of {@code bytes}, readable and writable, zeroed by the kernel: its address. */
    public long mapAnonymous(long bytes) throws PosixException {
        long address = call(NR.mmap(), 0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (address == -1) throw failed("mmap", new byte[0]);
        return address;
    }

    /** Gives back a range of a mapping; best effort, as a range that stays is only address space. */
    public void unmap(long address, long bytes) {
        if (bytes > 0) sc(NR.munmap(), address, bytes, 0, 0, 0, 0);
    }

    /** Asks for huge pages in a range; best effort: a kernel without them (or with them off) keeps small ones. */
    public void adviseHugePages(long address, long bytes) {
        sc(NR.madvise(), address, bytes, MADV_HUGEPAGE, 0, 0, 0);
    }

    /** The effective uid of this process. */
    public int geteuid() {
        return (int) sc(NR.geteuid(), 0, 0, 0, 0, 0, 0);
    }

    @Override
    public void close() {
        arena.close();
    }

    /** The name as a NUL-terminated string in a scratch slot, by address. */
    private long cstr(MemorySegment slot, byte[] s) throws PosixException {
        if (s.length >= PATH_SLOT) throw new PosixException("path", Names.show(s), Errno.ENAMETOOLONG);
        for (byte b : s) if (b == 0) throw new PosixException("path", Names.show(s), Errno.EINVAL);
        MemorySegment.copy(s, 0, slot, ValueLayout.JAVA_BYTE, 0, s.length);
        slot.set(ValueLayout.JAVA_BYTE, s.length, (byte) 0);
        return slot.address();
    }

    private PosixException failed(String call, byte[] what) {
        return new PosixException(call, Names.show(what), errno(capture));
    }

    private static IllegalStateException downcall(Throwable t) {
        if (t instanceof Error e) throw e;
        return new IllegalStateException("a libc call through FFM failed", t);
    }
}
