package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

/**
 * The node-local directory bundles are unpacked into, checked before anything is written:
 * created 0700 if missing; refused if it is a symbolic link, not owned by this user, or writable by others,
 * because anyone who can write there could plant files the job then runs.
 *
 * @param root    the directory
 * @param host    this node's name, for messages
 * @param uid     the user's uid
 * @param umask   the process umask, to know when a mode needs an explicit chmod
 */
public record Destination(Path root, String host, int uid, int umask) {

    /** The directory nodecast keeps its own bookkeeping in. */
    public static final String META = ".nodecast";

    /** Expands {@code %h} (this node's host name) and checks or creates the directory. */
    public static Destination prepare(String pattern, String host) {
        Path root = Path.of(pattern.replace("%h", host)).toAbsolutePath().normalize();
        Posix me = Posix.current();
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
                throw refused(host, root, "is a symbolic link; give the real directory");
            }
            if ((mode & 0170000) != 0040000) {
                throw refused(host, root, "exists and is not a directory");
            }
            if (owner != me.uid()) {
                throw refused(host, root, "is owned by uid " + owner + ", not by you (uid " + me.uid()
                        + "); choose another destination with -p");
            }
            if ((mode & 0022) != 0) {
                throw refused(host, root, String.format("is writable by others (mode %04o); run 'chmod 700 %s' or choose another -p",
                        mode & 07777, root));
            }
            if (!Files.isWritable(root)) {
                throw refused(host, root, "is not writable");
            }
            Files.createDirectories(root.resolve(META));
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot prepare destination " + root + ": " + e.getMessage(), e);
        }
        return new Destination(root, host, me.uid(), me.umask());
    }

    public Ledger ledger() {
        return new Ledger(root.resolve(META));
    }

    private static NodecastException refused(String host, Path root, String why) {
        return new NodecastException(ExitCode.DESTINATION, "destination " + root + " " + why);
    }
}
