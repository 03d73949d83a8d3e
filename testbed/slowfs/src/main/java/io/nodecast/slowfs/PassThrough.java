package io.nodecast.slowfs;

import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;
import org.cryptomator.jfuse.api.TimeSpec;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.cryptomator.jfuse.api.FuseOperations.Operation.*;

/**
 * Every operation on the mount is done on the backing directory, through java.nio, after the {@link Meter} has
 * charged it. libfuse's high-level API hands us paths; it serves the kernel's lookups through {@link #getattr}, so
 * a stat() of a name costs two operations here (the lookup, then the getattr of the now uncached attributes).
 */
final class PassThrough implements FuseOperations {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    private static final int RENAME_NOREPLACE = 1;   // linux/fs.h

    private final Path backing;
    private final Meter meter;
    private final Errno errno;
    private final Map<Long, FileChannel> open = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);

    PassThrough(Path backing, Meter meter, Errno errno) {
        this.backing = backing;
        this.meter = meter;
        this.errno = errno;
    }

    @Override
    public Errno errno() {
        return errno;
    }

    @Override
    public Set<Operation> supportedOperations() {
        return EnumSet.of(INIT, GET_ATTR, READLINK, MKDIR, UNLINK, RMDIR, SYMLINK, RENAME, CHMOD, CHOWN, TRUNCATE, OPEN,
                READ, WRITE, STATFS, FLUSH, RELEASE, FSYNC, OPEN_DIR, READ_DIR, RELEASE_DIR, ACCESS, CREATE, UTIMENS);
    }

    @Override
    public void init(FuseConnInfo conn, FuseConfig config) {
        // the kernel's caches are off through the mount options (entry_timeout=0 etc.); libfuse has applied them
        // to config before this call, so a wrong option shows in the daemon's log at once
        System.err.printf("slowfs: init: entry_timeout %s attr_timeout %s negative_timeout %s direct_io %d%n",
                config.entryTimeout(), config.attrTimeout(), config.negativeTimeout(), config.directIo());
    }

    private Path at(String path) {
        return path.equals("/") ? backing : backing.resolve(path.substring(1));
    }

    // --- metadata: each call below takes a token first ---

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
        return charged(GET_ATTR, () -> {
            Map<String, Object> a = Files.readAttributes(at(path),
                    "unix:mode,uid,gid,size,nlink,lastAccessTime,lastModifiedTime,ctime", NOFOLLOW);
            stat.setMode((Integer) a.get("mode"));
            stat.setUid((Integer) a.get("uid"));
            stat.setGid((Integer) a.get("gid"));
            stat.setSize((Long) a.get("size"));
            stat.setNLink((short) Math.min(Short.MAX_VALUE, (Integer) a.get("nlink")));
            stat.aTime().set(((FileTime) a.get("lastAccessTime")).toInstant());
            stat.mTime().set(((FileTime) a.get("lastModifiedTime")).toInstant());
            stat.cTime().set(((FileTime) a.get("ctime")).toInstant());
        });
    }

    @Override
    public int access(String path, int mask) {
        meter.metadata(ACCESS);
        Path p = at(path);
        if (!Files.exists(p)) return -errno.enoent();
        boolean ok = ((mask & 4) == 0 || Files.isReadable(p)) && ((mask & 2) == 0 || Files.isWritable(p))
                && ((mask & 1) == 0 || Files.isExecutable(p));
        return ok ? 0 : -errno.eacces();
    }

    @Override
    public int readlink(String path, ByteBuffer buf, long len) {
        return charged(READLINK, () -> {
            byte[] target = Files.readSymbolicLink(at(path)).toString().getBytes(StandardCharsets.UTF_8);
            int n = (int) Math.min(target.length, Math.min(len, buf.remaining()) - 1);
            buf.put(target, 0, n).put((byte) 0);
        });
    }

    @Override
    public int opendir(String path, FileInfo fi) {
        meter.metadata(OPEN_DIR);
        return Files.isDirectory(at(path)) ? 0 : Files.exists(at(path), NOFOLLOW) ? -errno.enotdir() : -errno.enoent();
    }

    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        meter.metadata(READ_DIR);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(at(path))) {
            filler.fill(".");
            filler.fill("..");
            for (Path e : entries) filler.fill(e.getFileName().toString());
            return 0;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    @Override
    public int mkdir(String path, int mode) {
        return charged(MKDIR, () -> {
            Path p = Files.createDirectory(at(path));
            Files.setAttribute(p, "unix:mode", mode & 07777, NOFOLLOW);
        });
    }

    @Override
    public int unlink(String path) {
        meter.metadata(UNLINK);
        Path p = at(path);
        if (Files.isDirectory(p, NOFOLLOW)) return -errno.eisdir();   // Files.delete would remove an empty directory
        try {
            Files.delete(p);
            return 0;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    @Override
    public int rmdir(String path) {
        meter.metadata(RMDIR);
        Path p = at(path);
        if (Files.exists(p, NOFOLLOW) && !Files.isDirectory(p, NOFOLLOW)) return -errno.enotdir();
        try {
            Files.delete(p);
            return 0;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    /** libfuse passes (link content, link path), whatever jfuse calls them. */
    @Override
    public int symlink(String target, String linkPath) {
        return charged(SYMLINK, () -> {
            Files.createSymbolicLink(at(linkPath), Path.of(target));
        });
    }

    @Override
    public int rename(String from, String to, int flags) {
        meter.metadata(RENAME);
        if ((flags & ~RENAME_NOREPLACE) != 0) return -errno.einval();   // RENAME_EXCHANGE: not emulated
        try {
            if (flags == RENAME_NOREPLACE && Files.exists(at(to), NOFOLLOW)) return -errno.eexist();   // not atomic
            Files.move(at(from), at(to), StandardCopyOption.ATOMIC_MOVE);   // rename(2): replaces the target
            return 0;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    @Override
    public int chmod(String path, int mode, FileInfo fi) {
        return charged(CHMOD, () -> {
            Files.setAttribute(at(path), "unix:mode", mode & 07777);
        });
    }

    @Override
    public int chown(String path, int uid, int gid, FileInfo fi) {
        return charged(CHOWN, () -> {
            if (uid != -1) Files.setAttribute(at(path), "unix:uid", uid, NOFOLLOW);
            if (gid != -1) Files.setAttribute(at(path), "unix:gid", gid, NOFOLLOW);
        });
    }

    @Override
    public int truncate(String path, long size, FileInfo fi) {
        meter.metadata(TRUNCATE);
        try (RandomAccessFile f = new RandomAccessFile(at(path).toFile(), "rw")) {   // setLength also extends
            f.setLength(size);
            return 0;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    @Override
    public int utimens(String path, TimeSpec atime, TimeSpec mtime, FileInfo fi) {
        return charged(UTIMENS, () -> {
            Files.getFileAttributeView(at(path), BasicFileAttributeView.class, NOFOLLOW)
                    .setTimes(time(mtime), time(atime), null);
        });
    }

    private static FileTime time(TimeSpec t) {
        if (t.isUtimeOmit()) return null;   // null: left as it is
        return FileTime.from(t.isUtimeNow() ? Instant.now() : t.get());
    }

    @Override
    public int statfs(String path, Statvfs st) {
        return charged(STATFS, () -> {
            FileStore store = Files.getFileStore(backing);
            long bsize = store.getBlockSize();
            st.setBsize(bsize);
            st.setFrsize(bsize);
            st.setBlocks(store.getTotalSpace() / bsize);
            st.setBfree(store.getUnallocatedSpace() / bsize);
            st.setBavail(store.getUsableSpace() / bsize);
            st.setNameMax(255);
        });
    }

    @Override
    public int open(String path, FileInfo fi) {
        meter.metadata(OPEN);
        return openChannel(path, fi, false, 0);
    }

    @Override
    public int create(String path, int mode, FileInfo fi) {
        meter.metadata(CREATE);
        return openChannel(path, fi, true, mode);
    }

    private int openChannel(String path, FileInfo fi, boolean create, int mode) {
        Set<OpenOption> options = new HashSet<>(fi.getOpenFlags());
        if (create) {
            if (!options.contains(StandardOpenOption.CREATE_NEW)) options.add(StandardOpenOption.CREATE);
        } else {
            options.remove(StandardOpenOption.CREATE);
            options.remove(StandardOpenOption.CREATE_NEW);
        }
        if (!options.contains(StandardOpenOption.WRITE)) options.add(StandardOpenOption.READ);
        try {
            Path p = at(path);
            boolean existed = create && Files.exists(p, NOFOLLOW);
            FileChannel ch = FileChannel.open(p, options);
            if (create && !existed) Files.setAttribute(p, "unix:mode", mode & 07777);
            long fh = nextHandle.getAndIncrement();
            open.put(fh, ch);
            fi.setFh(fh);
            return 0;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    // --- data and closes: counted, never slowed ---

    @Override
    public int read(String path, ByteBuffer buf, long count, long offset, FileInfo fi) {
        meter.free(READ);
        FileChannel ch = open.get(fi.getFh());
        if (ch == null) return -errno.ebadf();
        try {
            int total = 0;
            while (buf.hasRemaining() && total < count) {
                int n = ch.read(buf, offset + total);
                if (n < 0) break;
                total += n;
            }
            return total;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    @Override
    public int write(String path, ByteBuffer buf, long count, long offset, FileInfo fi) {
        meter.free(WRITE);
        FileChannel ch = open.get(fi.getFh());
        if (ch == null) return -errno.ebadf();
        try {
            int total = 0;
            while (buf.hasRemaining() && total < count) total += ch.write(buf, offset + total);
            return total;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    @Override
    public int flush(String path, FileInfo fi) {
        meter.free(FLUSH);
        return 0;
    }

    @Override
    public int fsync(String path, int datasync, FileInfo fi) {
        meter.free(FSYNC);
        FileChannel ch = open.get(fi.getFh());
        if (ch == null) return -errno.ebadf();
        try {
            ch.force(datasync == 0);
            return 0;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    @Override
    public int release(String path, FileInfo fi) {
        meter.free(RELEASE);
        FileChannel ch = open.remove(fi.getFh());
        try {
            if (ch != null) ch.close();
            return 0;
        } catch (IOException e) {
            return fail(e);
        }
    }

    @Override
    public int releasedir(String path, FileInfo fi) {
        meter.free(RELEASE_DIR);
        return 0;
    }

    /** A metadata change that answers 0 or an errno. */
    @FunctionalInterface
    private interface Change {
        void apply() throws IOException;
    }

    /** Charges one metadata operation, then applies the change: 0 when done, the negated errno when not. */
    private int charged(Operation op, Change change) {
        meter.metadata(op);
        try {
            change.apply();
            return 0;
        } catch (IOException | RuntimeException e) {
            return fail(e);
        }
    }

    /** A java.nio failure as the negated errno the kernel expects. */
    private int fail(Exception e) {
        int code = switch (e) {
            case NoSuchFileException x -> errno.enoent();
            case FileAlreadyExistsException x -> errno.eexist();
            case DirectoryNotEmptyException x -> errno.enotempty();
            case NotDirectoryException x -> errno.enotdir();
            case AccessDeniedException x -> errno.eacces();
            case NotLinkException x -> errno.einval();
            case FileSystemException x -> byReason(x.getReason());
            case UnsupportedOperationException x -> errno.enotsup();
            case IllegalArgumentException x -> errno.einval();
            default -> errno.eio();
        };
        if (code == errno.eio()) System.err.println("slowfs: EIO for " + e);
        return -code;
    }

    /** java.nio keeps only strerror's text of the errno it got; the ones a pass-through meets. */
    private int byReason(String reason) {
        if (reason == null) return errno.eio();
        return switch (reason) {
            case "No such file or directory" -> errno.enoent();
            case "Not a directory" -> errno.enotdir();
            case "Is a directory" -> errno.eisdir();
            case "File exists" -> errno.eexist();
            case "Directory not empty" -> errno.enotempty();
            case "Permission denied", "Operation not permitted" -> errno.eacces();
            case "Read-only file system" -> errno.erofs();
            case "File name too long" -> errno.enametoolong();
            case "Invalid argument" -> errno.einval();
            default -> errno.eio();
        };
    }
}
