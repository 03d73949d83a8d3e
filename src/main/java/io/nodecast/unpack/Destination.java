package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.posix.Identity;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The node-local directory bundles are unpacked into, checked before anything is written:
 * created 0700 if missing; refused if it is a symbolic link, not owned by this user, or writable by others,
 * because anyone who can write there could plant files the job then runs. It must not be a place whose loss
 * would hurt ({@link #checkPlace}): bcast and purge share that rule.
 *
 * @param root    the directory
 * @param host    this node's name, for messages
 * @param uid     the user's uid
 * @param umask   the process umask, to know when a mode needs an explicit chmod
 */
public record Destination(Path root, String host, int uid, int umask) {

    /** The directory nodecast keeps its own bookkeeping in; bundle members may not write under it. */
    public static final String META = ".nodecast";

    /** Expands {@code %h} (this node's host name) and checks or creates the directory. */
    public static Destination prepare(String pattern, String host) {
        return prepare(pattern, host, false);
    }

    /**
     * @param force accept an existing non-empty directory that holds no nodecast destination (its files may be
     *              overwritten by bundles and removed by purge)
     */
    public static Destination prepare(String pattern, String host, boolean force) {
        Path root = expand(pattern, host);
        Identity me = Identity.current();
        checkPlace(root, "unpack into");
        try {
            if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
                Path parent = root.getParent();
                if (parent != null) Files.createDirectories(parent);
                try {
                    Files.createDirectory(root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } catch (FileAlreadyExistsException raced) {
                    // another process of this job created it first: check it like any existing one below
                }
            }
            Map<String, Object> a = Files.readAttributes(root, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            int owner = (Integer) a.get("uid");
            if ((mode & 0170000) == 0120000) {
                throw refused(root, "is a symbolic link; give the real directory");
            }
            if ((mode & 0170000) != 0040000) {
                throw refused(root, "exists and is not a directory");
            }
            if (owner != me.uid()) {
                throw refused(root, "is owned by uid " + owner + ", not by you (uid " + me.uid()
                        + "); choose another destination with -p");
            }
            if ((mode & 0022) != 0) {
                throw refused(root, String.format("is writable by others (mode %04o); run 'chmod 700 %s' or choose another -p",
                        mode & 07777, root));
            }
            if (!Files.isWritable(root)) {
                throw refused(root, "is not writable");
            }
            if (!force && !Files.isDirectory(root.resolve(META), LinkOption.NOFOLLOW_LINKS) && !isEmpty(root)) {
                throw refused(root, "is a directory with files in it that nodecast did not put there; bundles would "
                        + "overwrite them and purge would remove them. Choose an empty or new -p, or give --force");
            }
            Files.createDirectories(root.resolve(META));
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot prepare destination " + root + ": " + e.getMessage(), e);
        }
        return new Destination(root, host, me.uid(), me.umask());
    }

    /** The directory a pattern names on this host: {@code %h} expanded, absolute, normalised. */
    public static Path expand(String pattern, String host) {
        return Path.of(pattern.replace("%h", host)).toAbsolutePath().normalize();
    }

    /**
     * The one rule on where a destination may be, for bcast and purge alike: not {@code /}, not a top-level
     * directory, not the home directory or one above it. A wrong -p must not unpack over, or remove, any of them.
     */
    public static void checkPlace(Path root, String doing) {
        Path home = Path.of(System.getProperty("user.home", "/")).toAbsolutePath().normalize();
        String why = null;
        if (root.getNameCount() == 0) why = "is the root directory";
        else if (root.getNameCount() < 2) why = "is a top-level directory";
        else if (home.startsWith(root)) why = root.equals(home) ? "is your home directory" : "holds your home directory";
        if (why != null) {
            throw new NodecastException(ExitCode.DESTINATION, "refusing to " + doing + " " + root + ": it " + why
                    + "; give a node-local directory of its own, such as /dev/shm/$USER/local");
        }
    }

    /**
     * Purge's rule, beside {@link #checkPlace}: only a real directory of this user's that nodecast made (it holds
     * {@link #META}) may be removed.
     */
    public static void checkPurgeable(Path dest) throws IOException {
        if (Files.isSymbolicLink(dest) || !Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
            throw refusedPurge(dest, "is not a directory");
        }
        if (!Files.isDirectory(dest.resolve(META), LinkOption.NOFOLLOW_LINKS)) {
            throw refusedPurge(dest, "has no " + META + " directory: it is not a nodecast destination");
        }
        int owner = (Integer) Files.getAttribute(dest, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (owner != Identity.current().uid()) throw refusedPurge(dest, "belongs to uid " + owner + ", not to you");
    }

    private static NodecastException refusedPurge(Path dest, String why) {
        return new NodecastException(ExitCode.DESTINATION, "refusing to purge " + dest + ": it " + why);
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        }
    }

    public Ledger ledger() {
        return new Ledger(root.resolve(META));
    }

    /**
     * Holds DEST for this process: a second nodecast unpacking into the same DEST on this node (two job steps, a
     * second job of the same user) waits here until the first is done, instead of interleaving with it.
     *
     * @param waiting told once, with the holder's pid, if another process holds it
     */
    public Lock lock(Consumer<String> waiting) {
        Path file = root.resolve(META).resolve("lock");
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            FileLock l = ch.tryLock();
            if (l == null) {
                String holder = Files.readString(file, StandardCharsets.UTF_8).strip();
                waiting.accept("waiting for another nodecast" + (holder.isEmpty() ? "" : " (pid " + holder + ")")
                        + " to finish with " + root);
                l = ch.lock();
            }
            ch.truncate(0);
            ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            return new Lock(ch);
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot lock destination " + root + ": " + e.getMessage(), e);
        }
    }

    /** Released when closed or when the process ends, however it ends. */
    public record Lock(FileChannel channel) implements AutoCloseable {
        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the lock goes with the descriptor
            }
        }
    }

    private static NodecastException refused(Path root, String why) {
        return new NodecastException(ExitCode.DESTINATION, "destination " + root + " " + why);
    }
}
