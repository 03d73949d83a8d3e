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
    public static final int O_RDONLY = Libc.O_RDONLY, O_WRONLY = Libc.O_WRONLY, O_CREAT = Libc.O_CREAT,
            O_EXCL = Libc.O_EXCL, O_TRUNC = Libc.O_TRUNC, O_CLOEXEC = Libc.O_CLOEXEC, O_PATH = Libc.O_PATH,
            O_DIRECTORY = Libc.O_DIRECTORY, O_NOFOLLOW = Libc.O_NOFOLLOW;
    public static final int AT_FDCWD = Libc.AT_FDCWD, AT_SYMLINK_NOFOLLOW = Libc.AT_SYMLINK_NOFOLLOW,
            AT_REMOVEDIR = Libc.AT_REMOVEDIR;
    public static final long RESOLVE_BENEATH = Libc.RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS = Libc.RESOLVE_NO_SYMLINKS,
            RESOLVE_NO_MAGICLINKS = Libc.RESOLVE_NO_MAGICLINKS, RESOLVE_NO_XDEV = Libc.RESOLVE_NO_XDEV;
    public static final int DT_DIR = 4, DT_LNK = 10, DT_UNKNOWN = 0;

    private static final int PATH_SLOT = 4096 + 1;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment capture = arena.allocate(CAPTURE);
    private final MemorySegment path1 = arena.allocate(PATH_SLOT);
    private final MemorySegment path2 = arena.allocate(PATH_SLOT);
    private final MemorySegment how = arena.allocate(OPEN_HOW_SIZE, 8);
    private final MemorySegment statx = arena.allocate(STATX_SIZE, 8);
    private final MemorySegment times = arena.allocate(32, 8);
    private final MemorySegment empty = arena.allocate(1);
    private static final long DENTS_SIZE = 32 << 10;
    private final MemorySegment dents = arena.allocate(DENTS_SIZE, 8);

    /** A file's type, permissions, owner, size, link count and modification time, never following a link. */
    public record Stat(int mode, int uid, long size, int nlink, long inode, long device, long mtimeSeconds) {
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

    /**
     * openat2(2) with a resolve mask: the kernel refuses to leave {@code dirfd} ({@code RESOLVE_BENEATH}) or to
     * follow a link ({@code RESOLVE_NO_SYMLINKS}) at any step of {@code path}.
     * @throws PosixException with ENOSYS on kernels before 5.6
     */
    public int openat2(int dirfd, byte[] path, int flags, int mode, long resolve) throws PosixException {
        how.set(ValueLayout.JAVA_LONG, 0, flags & 0xFFFFFFFFL);
        how.set(ValueLayout.JAVA_LONG, 8, mode);
        how.set(ValueLayout.JAVA_LONG, 16, resolve);
        long fd;
        try {
            fd = (long) SYSCALL4.invokeExact(capture, SYS_OPENAT2, (long) dirfd, cstr(path1, path), how, OPEN_HOW_SIZE);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (fd < 0) throw failed("openat2", path);
        return (int) fd;
    }

    public int openat(int dirfd, byte[] path, int flags, int mode) throws PosixException {
        int fd;
        try {
            fd = (int) OPENAT.invokeExact(capture, dirfd, cstr(path1, path), flags, mode);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (fd < 0) throw failed("open", path);
        return fd;
    }

    public void mkdirat(int dirfd, byte[] name, int mode) throws PosixException {
        int rc;
        try {
            rc = (int) MKDIRAT.invokeExact(capture, dirfd, cstr(path1, name), mode);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("mkdir", name);
    }

    public void symlinkat(byte[] target, int dirfd, byte[] name) throws PosixException {
        int rc;
        try {
            rc = (int) SYMLINKAT.invokeExact(capture, cstr(path2, target), dirfd, cstr(path1, name));
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("symlink", name);
    }

    public void linkat(int olddir, byte[] oldname, int newdir, byte[] newname, int flags) throws PosixException {
        int rc;
        try {
            rc = (int) Libc.Linkat.H.invokeExact(capture, olddir, cstr(path2, oldname), newdir, cstr(path1, newname), flags);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("link", newname);
    }

    public void unlinkat(int dirfd, byte[] name, int flags) throws PosixException {
        int rc;
        try {
            rc = (int) Libc.Unlinkat.H.invokeExact(capture, dirfd, cstr(path1, name), flags);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("unlink", name);
    }

    public void renameat(int olddir, byte[] oldname, int newdir, byte[] newname) throws PosixException {
        int rc;
        try {
            rc = (int) Libc.Renameat.H.invokeExact(capture, olddir, cstr(path2, oldname), newdir, cstr(path1, newname));
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("rename", newname);
    }

    /** lstat of a name relative to {@code dirfd}; null when it does not exist. */
    public Stat lstatat(int dirfd, byte[] name) throws PosixException {
        int rc;
        try {
            rc = (int) STATX.invokeExact(capture, dirfd, cstr(path1, name), AT_SYMLINK_NOFOLLOW, STATX_BASIC, statx);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) {
            if (errno(capture) == Errno.ENOENT) return null;
            throw failed("stat", name);
        }
        return stat();
    }

    public Stat fstat(int fd) throws PosixException {
        int rc;
        try {
            rc = (int) STATX.invokeExact(capture, fd, empty, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC, statx);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("fstat", new byte[0]);
        return stat();
    }

    private Stat stat() {
        long dev = ((long) statx.get(ValueLayout.JAVA_INT, STX_DEV_MAJOR) << 32) | (statx.get(ValueLayout.JAVA_INT, STX_DEV_MINOR) & 0xFFFFFFFFL);
        return new Stat(statx.get(ValueLayout.JAVA_SHORT, STX_MODE) & 0xFFFF, statx.get(ValueLayout.JAVA_INT, STX_UID),
                statx.get(ValueLayout.JAVA_LONG, STX_SIZE), statx.get(ValueLayout.JAVA_INT, STX_NLINK),
                statx.get(ValueLayout.JAVA_LONG, STX_INO), dev, statx.get(ValueLayout.JAVA_LONG, STX_MTIME));
    }

    public void fchmod(int fd, int mode) throws PosixException {
        int rc;
        try {
            rc = (int) FCHMOD.invokeExact(capture, fd, mode);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("chmod", new byte[0]);
    }

    /** Sets the modification time of an open file; the access time is left alone. */
    public void futimens(int fd, long seconds, int nanos) throws PosixException {
        setTimes(seconds, nanos);
        int rc;
        try {
            rc = (int) FUTIMENS.invokeExact(capture, fd, times);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("utimens", new byte[0]);
    }

    /** The modification time of a name in {@code dirfd}, of the link itself when it is one. */
    public void lutimensat(int dirfd, byte[] name, long seconds, int nanos) throws PosixException {
        setTimes(seconds, nanos);
        int rc;
        try {
            rc = (int) UTIMENSAT.invokeExact(capture, dirfd, cstr(path1, name), times, AT_SYMLINK_NOFOLLOW);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("utimens", name);
    }

    private void setTimes(long seconds, int nanos) {
        times.set(ValueLayout.JAVA_LONG, 0, 0);
        times.set(ValueLayout.JAVA_LONG, 8, UTIME_OMIT);
        times.set(ValueLayout.JAVA_LONG, 16, seconds);
        times.set(ValueLayout.JAVA_LONG, 24, nanos);
    }

    /** Writes all of {@code length} bytes at {@code data}, retrying short writes. */
    public void writeFully(int fd, MemorySegment data, long length) throws PosixException {
        long done = 0;
        while (done < length) {
            long n;
            try {
                n = (long) WRITE.invokeExact(capture, fd, data.asSlice(done), length - done);
            } catch (Throwable t) {
                throw downcall(t);
            }
            if (n < 0) {
                if (errno(capture) == Errno.EINTR) continue;
                throw failed("write", new byte[0]);
            }
            done += n;
        }
    }

    /** Writes all of {@code length} bytes at file offset {@code offset} (sparse files). */
    public void pwriteFully(int fd, MemorySegment data, long length, long offset) throws PosixException {
        long done = 0;
        while (done < length) {
            long n;
            try {
                n = (long) Libc.Pwrite.H.invokeExact(capture, fd, data.asSlice(done), length - done, offset + done);
            } catch (Throwable t) {
                throw downcall(t);
            }
            if (n < 0) {
                if (errno(capture) == Errno.EINTR) continue;
                throw failed("write", new byte[0]);
            }
            done += n;
        }
    }

    /** Reads up to {@code length} bytes; 0 at the end of the file. */
    public long read(int fd, MemorySegment into, long length) throws PosixException {
        while (true) {
            long n;
            try {
                n = (long) Libc.Read.H.invokeExact(capture, fd, into, length);
            } catch (Throwable t) {
                throw downcall(t);
            }
            if (n >= 0) return n;
            if (errno(capture) != Errno.EINTR) throw failed("read", new byte[0]);
        }
    }

    public void ftruncate(int fd, long length) throws PosixException {
        int rc;
        try {
            rc = (int) Libc.Ftruncate.H.invokeExact(capture, fd, length);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0) throw failed("truncate", new byte[0]);
    }

    /** Closes fd; a failed close of a file just written can mean lost data (NFS, quotas), so it is reported. */
    public void close(int fd) throws PosixException {
        int rc;
        try {
            rc = (int) CLOSE.invokeExact(capture, fd);
        } catch (Throwable t) {
            throw downcall(t);
        }
        if (rc != 0 && errno(capture) != Errno.EINTR) throw failed("close", new byte[0]);
    }

    /** For clean-up paths, where the first failure is the one worth reporting. */
    public void closeQuietly(int fd) {
        if (fd < 0) return;
        try {
            close(fd);
        } catch (PosixException ignored) {
            // already failing
        }
    }

    /** An exclusive flock on fd; false if another process holds it and {@code wait} is false. */
    public boolean lockExclusive(int fd, boolean wait) throws PosixException {
        while (true) {
            int rc;
            try {
                rc = (int) Libc.Flock.H.invokeExact(capture, fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
            } catch (Throwable t) {
                throw downcall(t);
            }
            if (rc == 0) return true;
            int e = errno(capture);
            if (e == Errno.EAGAIN && !wait) return false;
            if (e != Errno.EINTR) throw failed("flock", new byte[0]);
        }
    }

    /** The names in an open directory (not "." and ".."); {@code dirfd} stays open and its position untouched. */
    public List<DirEntry> list(int dirfd) throws PosixException {
        int copy = openat(dirfd, new byte[] {'.'}, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        List<DirEntry> out = new ArrayList<>();
        try {
            while (true) {
                long n;
                try {
                    n = (long) Libc.Syscall3.H.invokeExact(capture, SYS_GETDENTS64, (long) copy, dents, DENTS_SIZE);
                } catch (Throwable t) {
                    throw downcall(t);
                }
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

    public static int geteuid() {
        try {
            return (int) Libc.Geteuid.H.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("geteuid through FFM failed", t);
        }
    }

    @Override
    public void close() {
        arena.close();
    }

    private MemorySegment cstr(MemorySegment slot, byte[] s) throws PosixException {
        if (s.length >= PATH_SLOT) throw new PosixException("path", Names.show(s), Errno.ENAMETOOLONG);
        for (byte b : s) if (b == 0) throw new PosixException("path", Names.show(s), Errno.EINVAL);
        MemorySegment.copy(s, 0, slot, ValueLayout.JAVA_BYTE, 0, s.length);
        slot.set(ValueLayout.JAVA_BYTE, s.length, (byte) 0);
        return slot;
    }

    private PosixException failed(String call, byte[] what) {
        return new PosixException(call, Names.show(what), errno(capture));
    }

    private static IllegalStateException downcall(Throwable t) {
        if (t instanceof Error e) throw e;
        return new IllegalStateException("a libc call through FFM failed", t);
    }
}
