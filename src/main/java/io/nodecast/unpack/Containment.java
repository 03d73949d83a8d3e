package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.format.TarEntry;
import io.nodecast.posix.Errno;
import io.nodecast.posix.Names;
import io.nodecast.posix.PosixException;
import io.nodecast.posix.Sys;
import io.nodecast.relocate.Rewrite;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every rule that keeps a bundle inside its destination, and every change the unpacker makes to the file system.
 *
 * <p>Containment is the kernel's: each parent directory is opened relative to DEST's own descriptor with
 * {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)} (Linux 5.6+), or on older kernels
 * by a walk of single names with {@code O_NOFOLLOW | O_DIRECTORY}; the last name is then created, replaced or
 * linked with an {@code *at} call that never follows it. No sequence of entries can make a later one write through
 * a link, whatever an earlier one replaced, because nothing is remembered about what was checked: open directory
 * descriptors are kept for speed, but a descriptor names a directory that was inside DEST when it was opened, and
 * nodecast never moves a directory.
 *
 * <p>The rules on names and link targets ({@link Rule}) are policy on top: they refuse, with the entry named,
 * what GNU tar would quietly rewrite or follow, and they keep symbolic links pointing inside DEST for whoever
 * follows them later (the application). Each can be switched off in tests, which prove that each one matters.
 *
 * <p>Used by one thread (the parser); the threads writing file data only hold descriptors it opened.
 */
final class Containment implements AutoCloseable {

    /** The rules, each a test away from being noticed if it went missing. */
    enum Rule {
        /** No absolute names: the member would land wherever it says. */
        NO_ABSOLUTE,
        /** No {@code ..} in a name. */
        NO_DOT_DOT,
        /** No names under {@code .nodecast/}: the ledger and the lock are not the bundle's to write. */
        NO_BOOKKEEPING,
        /** Names and components within PATH_MAX and NAME_MAX, so the message names the entry, not a syscall. */
        NAME_LENGTH,
        /** No device files or FIFOs. */
        NO_SPECIAL_FILES,
        /** Symbolic links keep pointing inside DEST: relative, not climbing above their own depth. */
        SYMLINK_TARGETS,
        /** A hard link's target is a regular file already inside DEST. */
        HARDLINK_TARGETS,
        /** The kernel refuses to resolve a parent directory through a link or out of DEST. */
        KERNEL_BENEATH,
        /** setuid, setgid, sticky and world-write bits are dropped. */
        SAFE_MODES,
        /** Every existing directory written into belongs to the user. */
        OWNED_DIRECTORIES
    }

    static final Set<Rule> ALL = EnumSet.allOf(Rule.class);

    private static final int PATH_MAX = 4096, NAME_MAX = 255, CACHED_DIRS = 64;
    /** Relocation reads and copies files through a buffer this large, whatever their size. */
    private static final int COPY_BYTES = 1 << 20;
    private static final byte[] META = Destination.META.getBytes(StandardCharsets.US_ASCII);

    /** A member's name split into components, already past the name rules. */
    record EntryPath(byte[][] parts, byte[] raw) {
        /** The name for messages; made only when one is needed (most members never need it). */
        String shown() {
            return Names.show(raw);
        }

        boolean isRoot() {
            return parts.length == 0;
        }

        byte[] last() {
            return parts[parts.length - 1];
        }

        int depth() {
            return parts.length - 1;
        }

        /** The normalized name, byte for byte: equal for two names of the same path. */
        String key() {
            return Containment.key(parts, parts.length);
        }
    }

    private record DirToFinish(EntryPath path, int mode, long mtime, int nanos) {}

    /** A directory member the stream may still add to, under its key in {@code toFinish}. */
    private record Pending(String key, DirToFinish dir) {}

    private final Destination dest;
    private final Sys sys;
    private final Set<Rule> rules;
    private final int root;
    private final boolean openat2;
    private final Map<String, Integer> dirs = new LinkedHashMap<>(CACHED_DIRS * 2, 0.75f, true);
    private final Map<String, DirToFinish> toFinish = new LinkedHashMap<>();
    /** The directory members the stream is inside of, outermost last: each is an ancestor of the one above it. */
    private final Deque<Pending> inside = new ArrayDeque<>();
    /** Directories given their mode and time when the stream left them; back to {@code toFinish} if it returns. */
    private final Map<String, DirToFinish> finishedEarly = new HashMap<>();
    private final Map<String, Integer> restoreModes = new LinkedHashMap<>();
    private byte[][] lastParts;
    private int lastN = -1;
    private int lastFd = -1;

    Containment(Destination dest, Sys sys) {
        this(dest, sys, ALL, true);
    }

    /** @param useOpenat2 false forces the O_NOFOLLOW walk, as on kernels before 5.6 (tests run both) */
    Containment(Destination dest, Sys sys, Set<Rule> rules, boolean useOpenat2) {
        this.dest = dest;
        this.sys = sys;
        this.rules = rules;
        try {
            this.root = sys.openat(Sys.AT_FDCWD, Names.bytes(dest.root().toString()),
                    Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
            Sys.Stat st = sys.fstat(root);
            if (st.uid() != dest.uid()) {
                throw new NodecastException(ExitCode.DESTINATION, "destination " + dest.root() + " belongs to uid "
                        + st.uid() + ", not to you");
            }
        } catch (PosixException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot open destination " + dest.root() + ": " + e.reason(), e);
        }
        this.openat2 = useOpenat2 && rules.contains(Rule.KERNEL_BENEATH) && probeOpenat2();
    }

    private boolean probeOpenat2() {
        try {
            int fd = sys.openat2(root, new byte[] {'.'}, Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_CLOEXEC, 0, resolveFlags());
            sys.closeQuietly(fd);
            return true;
        } catch (PosixException e) {
            return false;   // ENOSYS before Linux 5.6, EPERM under some seccomp filters: walk instead
        }
    }

    private static long resolveFlags() {
        return Sys.RESOLVE_BENEATH | Sys.RESOLVE_NO_SYMLINKS | Sys.RESOLVE_NO_MAGICLINKS;
    }

    /** Whether parents are opened with openat2 (else walked); for reports and tests. */
    boolean usesOpenat2() {
        return openat2;
    }

    // ---- the rules on names, types and modes

    /** The member's name past the name rules; an empty name ("./") is the destination itself. */
    EntryPath name(byte[] raw) {
        String shown = raw.length > 0 && (raw[0] == '/' || raw.length > PATH_MAX) ? Names.show(raw) : null;
        if (raw.length == 0) throw unsafe("", "has an empty name");
        if (on(Rule.NO_ABSOLUTE) && raw[0] == '/') throw unsafe(shown, "has an absolute path");
        if (on(Rule.NAME_LENGTH) && raw.length > PATH_MAX) {
            throw unsafe(shown, "has a name of " + raw.length + " bytes, longer than the system allows (" + PATH_MAX + ")");
        }
        List<byte[]> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= raw.length; i++) {
            if (i < raw.length && raw[i] != '/') continue;
            int len = i - start;
            if (len == 0 || (len == 1 && raw[start] == '.')) {
                start = i + 1;
                continue;
            }
            if (len == 2 && raw[start] == '.' && raw[start + 1] == '.') {
                if (on(Rule.NO_DOT_DOT)) throw unsafe(Names.show(raw), "climbs out with '..'");
                // not a rule but how containment works: every *at call takes one plain name, never '..'
                throw unsafe(Names.show(raw), "has '..' as a component, which no single-name call may take");
            }
            if (len > NAME_MAX && on(Rule.NAME_LENGTH)) {
                throw unsafe(Names.show(raw), "has a component of " + len + " bytes, longer than the system allows (" + NAME_MAX + ")");
            }
            parts.add(Arrays.copyOfRange(raw, start, i));
            start = i + 1;
        }
        if (on(Rule.NO_BOOKKEEPING) && !parts.isEmpty() && Arrays.equals(parts.get(0), META)) {
            throw unsafe(Names.show(raw), "is under " + Destination.META + "/, where nodecast keeps its own records");
        }
        return new EntryPath(parts.toArray(new byte[0][]), raw);
    }

    /** Refuses what must never be created. */
    void checkType(TarEntry e, EntryPath p) {
        if (!on(Rule.NO_SPECIAL_FILES)) return;
        switch (e.type()) {
            case CHAR_DEVICE, BLOCK_DEVICE -> throw unsafe(p.shown(), "is a device file");
            case FIFO -> throw unsafe(p.shown(), "is a FIFO");
            default -> { }
        }
    }

    int mode(int mode) {
        return on(Rule.SAFE_MODES) ? mode & 07777 & ~(07000 | 0002) : mode & 07777;
    }

    /**
     * A symbolic link must point inside DEST from where it is: relative, its leading '..' no more than its depth,
     * no '..' after a name. Because no entry is ever written through a link (the kernel sees to it), every directory
     * those '..' climb is real, so the lexical check is the physical one; and since every link obeys it, a chain of
     * links cannot leave DEST either.
     */
    void checkSymlinkTarget(EntryPath link, byte[] target) {
        if (!on(Rule.SYMLINK_TARGETS)) return;
        String shownTarget = Names.show(target);
        if (target.length == 0) throw unsafe(link.shown(), "is a symbolic link with an empty target");
        if (target[0] == '/') {
            throw unsafe(link.shown(), "is a symbolic link to an absolute path (" + shownTarget + "), which leaves the destination");
        }
        int up = 0;
        boolean sawName = false;
        List<byte[]> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= target.length; i++) {
            if (i < target.length && target[i] != '/') continue;
            int len = i - start;
            boolean dot = len == 1 && target[start] == '.';
            boolean dotdot = len == 2 && target[start] == '.' && target[start + 1] == '.';
            if (dotdot) {
                if (sawName) {
                    throw unsafe(link.shown(), "is a symbolic link whose target (" + shownTarget + ") climbs back with '..' after a name");
                }
                up++;
            } else if (len > 0 && !dot) {
                sawName = true;
                names.add(Arrays.copyOfRange(target, start, i));
            }
            start = i + 1;
        }
        if (up > link.depth()) {
            throw unsafe(link.shown(), "is a symbolic link to " + shownTarget + ", which leaves the destination");
        }
        if (up == link.depth() && !names.isEmpty() && Arrays.equals(names.get(0), META)) {
            throw unsafe(link.shown(), "is a symbolic link into " + Destination.META + "/, where nodecast keeps its own records");
        }
    }

    // ---- operations, each contained by the kernel

    /**
     * A directory member: created, or an existing one of the user's kept; its mode and time are applied when the stream
     * leaves it ({@link #leave}) or at the end.
     */
    void directory(EntryPath p, int mode, long mtime, int nanos) throws PosixException {
        if (p.isRoot()) return;   // "./": DEST keeps its own private mode
        leave(p);
        int parent = parentOf(p);
        try {
            sys.mkdirat(parent, p.last(), 0700);
        } catch (PosixException e) {
            if (!e.is(Errno.EEXIST)) throw e;
            Sys.Stat st = sys.lstatat(parent, p.last());
            if (st == null || !st.isDirectory()) {
                remove(parent, p, st);
                sys.mkdirat(parent, p.last(), 0700);
            } else if (on(Rule.OWNED_DIRECTORIES) && st.uid() != dest.uid()) {
                throw notYours(p.shown(), st.uid());
            }
        }
        String key = key(p.parts(), p.parts().length);
        restoreModes.remove(key);
        finishedEarly.remove(key);
        toFinish.remove(key);   // re-inserted last: a later member's mode wins
        DirToFinish d = new DirToFinish(p, mode, mtime, nanos);
        toFinish.put(key, d);
        inside.push(new Pending(key, d));
    }

    /** A new regular file, open for writing; whatever was at its name is replaced. */
    int createFile(EntryPath p, int mode) throws PosixException {
        if (p.isRoot()) throw unsafe(p.shown(), "is a file in place of the destination itself");
        leave(p);
        int parent = parentOf(p);
        int flags = Sys.O_WRONLY | Sys.O_CREAT | Sys.O_EXCL | Sys.O_NOFOLLOW | Sys.O_CLOEXEC;
        try {
            return sys.openat(parent, p.last(), flags, mode);
        } catch (PosixException e) {
            if (!e.is(Errno.EEXIST)) throw e;
        }
        remove(parent, p, sys.lstatat(parent, p.last()));
        return sys.openat(parent, p.last(), flags, mode);
    }

    void symlink(EntryPath p, byte[] target, long mtime, int nanos) throws PosixException {
        if (p.isRoot()) throw unsafe(p.shown(), "replaces the destination itself with a link");
        checkSymlinkTarget(p, target);
        leave(p);
        int parent = parentOf(p);
        try {
            sys.symlinkat(target, parent, p.last());
        } catch (PosixException e) {
            if (!e.is(Errno.EEXIST)) throw e;
            remove(parent, p, sys.lstatat(parent, p.last()));
            sys.symlinkat(target, parent, p.last());
        }
        sys.lutimensat(parent, p.last(), mtime, nanos);
    }

    void hardlink(EntryPath p, EntryPath target) throws PosixException {
        if (p.isRoot()) throw unsafe(p.shown(), "replaces the destination itself with a link");
        if (target.isRoot()) throw unsafe(p.shown(), "is a hard link to the destination itself");
        leave(p);
        int parent = parentOf(p);
        // the target's directory on a descriptor of its own: opening it must not evict p's parent from the cache
        int targetParent = target.parts().length == 1 ? root : openDir(target.parts(), target.parts().length - 1);
        if (targetParent < 0) {
            throw unsafe(p.shown(), "is a hard link to '" + target.shown() + "', which is not a regular file unpacked before it");
        }
        try {
            byte[] targetName = target.last();
            if (on(Rule.HARDLINK_TARGETS)) {
                Sys.Stat st = sys.lstatat(targetParent, targetName);
                if (st == null || !st.isRegular()) {
                    throw unsafe(p.shown(), "is a hard link to '" + target.shown() + "', which is not a regular file "
                            + "unpacked before it");
                }
            }
            if (Arrays.deepEquals(p.parts(), target.parts())) return;   // a link to itself: it is already there
            try {
                sys.linkat(targetParent, targetName, parent, p.last(), 0);
            } catch (PosixException e) {
                if (!e.is(Errno.EEXIST)) throw e;
                remove(parent, p, sys.lstatat(parent, p.last()));
                sys.linkat(targetParent, targetName, parent, p.last(), 0);
            }
        } finally {
            if (targetParent != root) sys.closeQuietly(targetParent);
        }
    }

    /**
     * The contents of the regular file at p, for relocation after the unpack; never through a link.
     *
     * @return null when nothing is there
     */
    byte[] readFile(EntryPath p, int maxBytes) throws PosixException {
        try (OpenFile f = openFile(p)) {
            if (f == null) return null;
            if (f.size() > maxBytes) throw unsafe(p.shown(), "is larger than " + maxBytes + " bytes");
            byte[] out = new byte[(int) f.size()];
            int got = 0;
            for (int n; got < out.length && (n = f.read(out, got, out.length - got)) > 0; ) got += n;
            return got == out.length ? out : Arrays.copyOf(out, got);
        }
    }

    /** What is at p, never through a link (relocation asks which file a listed name is); null when nothing is. */
    Sys.Stat stat(EntryPath p) throws PosixException {
        if (p.isRoot()) throw unsafe(p.shown(), "is the destination itself, not a file");
        return sys.lstatat(parentOf(p), p.last());
    }

    /**
     * The regular file at p, open for reading in order (relocation's scan of a binary), never through a link.
     *
     * @return null when nothing is there
     */
    OpenFile openFile(EntryPath p) throws PosixException {
        if (p.isRoot()) throw unsafe(p.shown(), "is the destination itself, not a file");
        int parent = parentOf(p);
        int fd;
        try {
            fd = sys.openat(parent, p.last(), Sys.O_RDONLY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
        } catch (PosixException e) {
            if (e.is(Errno.ENOENT)) return null;
            if (e.is(Errno.ELOOP)) throw unsafe(p.shown(), "is a symbolic link; relocation never follows one");
            throw e;
        }
        try {
            Sys.Stat st = sys.fstat(fd);
            if (!st.isRegular()) throw unsafe(p.shown(), "is not a regular file");
            return new OpenFile(fd, st.size());
        } catch (PosixException | RuntimeException e) {
            sys.closeQuietly(fd);
            throw e;
        }
    }

    /** An open regular file, read through a small native buffer, so a large file never sits in memory whole. */
    final class OpenFile implements AutoCloseable {
        private final int fd;
        private final long size;
        private final Arena arena = Arena.ofConfined();
        /** Never larger than the file: most files relocation reads are a few KB. */
        private final MemorySegment scratch;

        private OpenFile(int fd, long size) {
            this.fd = fd;
            this.size = size;
            this.scratch = arena.allocate(Math.clamp(size, 1, COPY_BYTES));
        }

        long size() {
            return size;
        }

        /** Up to {@code len} bytes at the file's position into {@code into[off...]}; 0 at its end. */
        int read(byte[] into, int off, int len) throws PosixException {
            int n = (int) sys.read(fd, scratch, len);
            MemorySegment.copy(scratch, ValueLayout.JAVA_BYTE, 0, into, off, n);
            return n;
        }

        @Override
        public void close() {
            sys.closeQuietly(fd);
            arena.close();
        }
    }

    /**
     * Replaces the regular file at p by {@code content}: a new file beside it with the old one's mode and time, then
     * renamed over it. The old file is never written into, so a program running from it is untouched ("text file
     * busy" cannot happen), and a failure leaves it whole.
     */
    void replaceFile(EntryPath p, byte[] content) throws PosixException {
        replace(p, fd -> sys.write(fd, content, -1));
    }

    /**
     * Replaces the regular file at p, as {@link #replaceFile} does, by a copy of itself with the patches written over
     * it: a binary relocated, its length unchanged, never whole in memory.
     */
    void patchFile(EntryPath p, List<Rewrite.Patch> patches) throws PosixException {
        replace(p, fd -> {
            try (OpenFile old = openFile(p)) {
                if (old == null) throw unsafe(p.shown(), "disappeared while it was relocated");
                for (long n; (n = sys.read(old.fd, old.scratch, old.scratch.byteSize())) > 0; ) sys.writeFully(fd, old.scratch, n);
                for (Rewrite.Patch patch : patches) sys.write(fd, patch.bytes(), patch.offset());
            }
        });
    }

    /** What a {@link #replace} writes into the new file, through its descriptor. */
    @FunctionalInterface
    private interface Content {
        void writeTo(int fd) throws PosixException;
    }

    private void replace(EntryPath p, Content content) throws PosixException {
        if (p.isRoot()) throw unsafe(p.shown(), "is the destination itself, not a file");
        int parent = parentOf(p);
        Sys.Stat old = sys.lstatat(parent, p.last());
        if (old == null || !old.isRegular()) throw unsafe(p.shown(), "is not a regular file");
        byte[] tmp = Arrays.copyOf(p.last(), p.last().length);
        tmp = (".nodecast-" + ProcessHandle.current().pid() + "-").getBytes(StandardCharsets.US_ASCII).length + tmp.length > NAME_MAX
                ? (".nodecast-" + ProcessHandle.current().pid()).getBytes(StandardCharsets.US_ASCII)
                : concat((".nodecast-" + ProcessHandle.current().pid() + "-").getBytes(StandardCharsets.US_ASCII), tmp);
        int fd = sys.openat(parent, tmp, Sys.O_WRONLY | Sys.O_CREAT | Sys.O_EXCL | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0600);
        boolean done = false;
        try {
            content.writeTo(fd);
            sys.fchmod(fd, old.permissions());
            sys.futimens(fd, old.mtimeSeconds(), old.mtimeNanos());
            sys.close(fd);
            fd = -1;
            sys.renameat(parent, tmp, parent, p.last());
            done = true;
        } finally {
            if (fd >= 0) sys.closeQuietly(fd);
            if (!done) {
                try {
                    sys.unlinkat(parent, tmp, 0);
                } catch (PosixException ignored) {
                    // the first failure is the one to report
                }
            }
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * The directories the stream has left, before member p is made: their mode and time now, on the descriptor the
     * cache most often still holds, instead of all at the end, when nothing else runs (GNU tar does the same). A
     * member that comes back into one later puts it back to be finished at the end ({@link #dir}); one its owner
     * cannot write into waits for the end anyway, so that a later member could still be made in it.
     */
    private void leave(EntryPath p) throws PosixException {
        while (!inside.isEmpty() && !isAncestor(inside.peek().dir().path().parts(), p.parts())) {
            Pending left = inside.pop();
            if (toFinish.get(left.key()) != left.dir() || (left.dir().mode() & 0700) != 0700) continue;
            byte[][] parts = left.dir().path().parts();
            Integer cached = dirs.get(left.key());
            int fd = cached != null ? cached : openDir(parts, parts.length);
            if (fd < 0) continue;   // gone: finish() skips it as well
            try {
                setModeAndTime(fd, left.dir());
            } finally {
                if (cached == null) sys.closeQuietly(fd);
            }
            toFinish.remove(left.key());
            finishedEarly.put(left.key(), left.dir());
            if (lastN == parts.length && samePrefix(parts, lastParts, lastN)) lastN = -1;   // dir() must see a return to it
        }
    }

    /** A failure here is the directory's, not the member's that the stream is at (or of none, at the end). */
    private void setModeAndTime(int fd, DirToFinish d) {
        try {
            sys.fchmod(fd, d.mode());
            sys.futimens(fd, d.mtime(), d.nanos());
        } catch (PosixException e) {
            throw new DirectoryFailure(d.path().raw(), e);
        }
    }

    /**
     * A directory's mode or time could not be set; the extractor reports it under the directory's name. Unchecked, so
     * that every member call that may finish a directory on its way keeps its signature.
     */
    static final class DirectoryFailure extends RuntimeException {
        private final byte[] name;

        DirectoryFailure(byte[] name, PosixException cause) {
            super(cause.getMessage(), cause);
            this.name = name;
        }

        byte[] name() {
            return name;
        }

        @Override
        public synchronized PosixException getCause() {
            return (PosixException) super.getCause();
        }
    }

    private static boolean isAncestor(byte[][] dir, byte[][] of) {
        return dir.length < of.length && samePrefix(dir, of, dir.length);
    }

    /** A directory finished early that a member changes again: finished at the end instead. */
    private void changing(String key) {
        if (finishedEarly.isEmpty()) return;
        DirToFinish d = finishedEarly.remove(key);
        if (d != null) toFinish.put(key, d);
    }

    /** Directory modes and times last, deepest first, so a read-only directory could still be filled. */
    void finish() throws PosixException {
        closeDirs();
        inside.clear();
        finishedEarly.clear();
        List<DirToFinish> all = new ArrayList<>(toFinish.values());
        all.sort(Comparator.comparingInt((DirToFinish d) -> d.path().parts().length).reversed());
        for (DirToFinish d : all) {
            int fd = openDir(d.path().parts(), d.path().parts().length);
            if (fd < 0) continue;   // replaced by a later member: its own rules applied
            try {
                setModeAndTime(fd, d);
            } finally {
                sys.closeQuietly(fd);
            }
        }
        for (Map.Entry<String, Integer> r : restoreModes.entrySet()) {
            byte[][] parts = split(r.getKey());
            int fd = openDir(parts, parts.length);
            if (fd < 0) continue;
            try {
                sys.fchmod(fd, r.getValue());
            } finally {
                sys.closeQuietly(fd);
            }
        }
        toFinish.clear();
        restoreModes.clear();
    }

    @Override
    public void close() {
        closeDirs();
        sys.closeQuietly(root);
    }

    // ---- directories

    /** The open parent directory of p, created as needed; the descriptor belongs to the cache. */
    private int parentOf(EntryPath p) throws PosixException {
        return dir(p.parts(), p.parts().length - 1, p);
    }

    private int dir(byte[][] parts, int n, EntryPath entry) throws PosixException {
        if (n == 0) return root;
        if (n == lastN && samePrefix(parts, lastParts, n)) return lastFd;   // most members share their neighbour's parent
        String key = key(parts, n);
        changing(key);
        Integer cached = dirs.get(key);
        if (cached != null) {
            lastParts = parts;
            lastN = n;
            lastFd = cached;
            return cached;
        }
        int fd = -1;
        if (openat2) {
            try {
                fd = sys.openat2(root, join(parts, n), Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_CLOEXEC, 0, resolveFlags());
                fd = adopt(fd, parts, n, entry);
            } catch (PosixException e) {
                fd = -1;   // missing, a link, a file, no permission: the walk below finds which and deals with it
            }
        }
        if (fd < 0) fd = walk(parts, n, entry);
        cache(key, fd);
        lastParts = parts;
        lastN = n;
        lastFd = fd;
        return fd;
    }

    private static boolean samePrefix(byte[][] a, byte[][] b, int n) {
        for (int i = n - 1; i >= 0; i--) if (!Arrays.equals(a[i], b[i])) return false;
        return true;
    }

    /** One name at a time from the deepest cached ancestor, creating what is missing, replacing what is not a directory. */
    private int walk(byte[][] parts, int n, EntryPath entry) throws PosixException {
        int i = n - 1;
        while (i > 0 && !dirs.containsKey(key(parts, i))) i--;
        int fd = i == 0 ? root : dirs.get(key(parts, i));
        for (; i < n; i++) {
            int next = openChild(fd, parts[i], parts, i + 1, entry);
            next = adopt(next, parts, i + 1, entry);
            if (i + 1 < n) cache(key(parts, i + 1), next);
            else return next;
            fd = next;
        }
        return fd;
    }

    private int openChild(int parent, byte[] name, byte[][] parts, int n, EntryPath entry) throws PosixException {
        int flags = Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_CLOEXEC | (on(Rule.KERNEL_BENEATH) ? Sys.O_NOFOLLOW : 0);
        for (int attempt = 0; ; attempt++) {
            try {
                return sys.openat(parent, name, flags, 0);
            } catch (PosixException e) {
                if (attempt > 1) throw e;
                Sys.Stat st = sys.lstatat(parent, name);
                if (st == null || !st.isDirectory()) changing(key(parts, n - 1));   // a name made or removed in it
                if (st == null) {
                    try {
                        sys.mkdirat(parent, name, 0777);   // a directory no member names: the umask decides, as in tar
                    } catch (PosixException raced) {
                        if (!raced.is(Errno.EEXIST)) throw raced;
                    }
                } else if (st.isSymlink()) {
                    throw unsafe(entry.shown(), "would be written through the symbolic link '" + showKey(parts, n) + "'");
                } else if (!st.isDirectory()) {
                    remove(parent, parts, n, st);   // an earlier bundle had a file where this one has a directory
                    sys.mkdirat(parent, name, 0777);
                } else if (e.is(Errno.EACCES) && st.uid() == dest.uid()) {
                    throw e;   // cannot open our own directory: its parent's mode; adopt() of the parent fixed that
                } else {
                    throw e;
                }
            }
        }
    }

    /** A directory just opened: it must be the user's, and writable by them while bundles are unpacked into it. */
    private int adopt(int fd, byte[][] parts, int n, EntryPath entry) throws PosixException {
        try {
            Sys.Stat st = sys.fstat(fd);
            if (on(Rule.OWNED_DIRECTORIES) && st.uid() != dest.uid()) throw notYours(showKey(parts, n), st.uid());
            if ((st.permissions() & 0700) != 0700) {
                String key = key(parts, n);
                if (!toFinish.containsKey(key)) restoreModes.putIfAbsent(key, st.permissions());
                sys.fchmod(fd, st.permissions() | 0700);
            }
            return fd;
        } catch (RuntimeException | PosixException e) {
            sys.closeQuietly(fd);
            throw e;
        }
    }

    /** A new descriptor (not cached) for an existing directory, or -1; never creates, never follows a link. */
    private int openDir(byte[][] parts, int n) {
        try {
            if (openat2) return sys.openat2(root, join(parts, n), Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_CLOEXEC, 0, resolveFlags());
            int fd = root;
            for (int i = 0; i < n; i++) {
                int next = sys.openat(fd, parts[i], Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_CLOEXEC | Sys.O_NOFOLLOW, 0);
                if (fd != root) sys.closeQuietly(fd);
                fd = next;
            }
            return fd;
        } catch (PosixException e) {
            return -1;
        }
    }

    private void cache(String key, int fd) {
        if (dirs.size() >= CACHED_DIRS) {
            var eldest = dirs.entrySet().iterator().next();
            if (eldest.getValue() == lastFd) lastN = -1;
            sys.closeQuietly(eldest.getValue());
            dirs.remove(eldest.getKey());
        }
        dirs.put(key, fd);
    }

    private void closeDirs() {
        for (int fd : dirs.values()) sys.closeQuietly(fd);
        dirs.clear();
        lastN = -1;
    }

    // ---- removing what an earlier member or bundle left

    /**
     * Removes what is at p (a file, a link or a whole tree) in its parent; never follows a link. Cached descriptors
     * of directories under it are closed (they would name orphans); the parent's, and any in use, stay valid.
     */
    private void remove(int parent, EntryPath p, Sys.Stat st) throws PosixException {
        remove(parent, p.parts(), p.parts().length, st);
    }

    private void remove(int parent, byte[][] parts, int n, Sys.Stat st) throws PosixException {
        if (st == null) return;
        if (!st.isDirectory()) {
            sys.unlinkat(parent, parts[n - 1], 0);
            return;
        }
        String gone = key(parts, n);
        var it = dirs.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            if (e.getKey().equals(gone) || e.getKey().startsWith(gone + "/")) {
                if (e.getValue() == lastFd) lastN = -1;
                sys.closeQuietly(e.getValue());
                it.remove();
            }
        }
        removeTree(parent, parts[n - 1]);
    }

    private record Frame(int parentFd, byte[] name, int fd, Deque<byte[]> subdirs) {}

    /**
     * Depth-first without recursion: a hostile bundle may nest thousands of directories. Each level holds one
     * descriptor until its subdirectories are gone (PATH_MAX bounds the depth at 2,048).
     */
    private void removeTree(int parent, byte[] name) throws PosixException {
        Deque<Frame> stack = new ArrayDeque<>();
        try {
            stack.push(frame(parent, name));
            while (!stack.isEmpty()) {
                Frame top = stack.peek();
                byte[] sub = top.subdirs().poll();
                if (sub != null) {
                    stack.push(frame(top.fd(), sub));
                    continue;
                }
                stack.pop();
                sys.closeQuietly(top.fd());
                sys.unlinkat(top.parentFd(), top.name(), Sys.AT_REMOVEDIR);
            }
        } finally {
            for (Frame f : stack) sys.closeQuietly(f.fd());
        }
    }

    /** Opens a directory being removed, empties it of everything but subdirectories, and lists those. */
    private Frame frame(int parent, byte[] name) throws PosixException {
        int fd = sys.openat(parent, name, Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
        try {
            Sys.Stat st = sys.fstat(fd);
            if ((st.permissions() & 0700) != 0700) sys.fchmod(fd, st.permissions() | 0700);
            Deque<byte[]> subdirs = new ArrayDeque<>();
            for (Sys.DirEntry e : sys.list(fd)) {
                boolean isDir = e.type() == Sys.DT_DIR;
                if (e.type() == Sys.DT_UNKNOWN) {
                    Sys.Stat s = sys.lstatat(fd, e.name());
                    isDir = s != null && s.isDirectory();
                }
                if (isDir) subdirs.push(e.name());
                else sys.unlinkat(fd, e.name(), 0);
            }
            return new Frame(parent, name, fd, subdirs);
        } catch (PosixException | RuntimeException e) {
            sys.closeQuietly(fd);
            throw e;
        }
    }

    // ---- helpers

    private boolean on(Rule r) {
        return rules.contains(r);
    }

    private static String key(byte[][] parts, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) b.append('/');
            b.append(new String(parts[i], StandardCharsets.ISO_8859_1));
        }
        return b.toString();
    }

    private static byte[][] split(String key) {
        String[] s = key.split("/");
        byte[][] out = new byte[s.length][];
        for (int i = 0; i < s.length; i++) out[i] = s[i].getBytes(StandardCharsets.ISO_8859_1);
        return out;
    }

    private static byte[] join(byte[][] parts, int n) {
        return key(parts, n).getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String showKey(byte[][] parts, int n) {
        return Names.show(join(parts, n));
    }

    static NodecastException unsafe(String entry, String why) {
        return new NodecastException(ExitCode.UNSAFE, "entry '" + entry + "' " + why + "; refusing the bundle");
    }

    private NodecastException notYours(String what, int uid) {
        return new NodecastException(ExitCode.DESTINATION, "'" + what + "' in " + dest.root() + " belongs to uid " + uid
                + ", not to you; refusing to write into it");
    }
}
