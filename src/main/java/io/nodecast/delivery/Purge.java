package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.NodecastException;
import io.nodecast.image.ImageStack;
import io.nodecast.unpack.Destination;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Removes a node-local destination at the end of a job. It runs on every rank the launcher starts, so it must be
 * idempotent and race-free: the tree is first renamed aside (one rank wins, the others find nothing), then deleted.
 * It refuses anything that is not a nodecast destination of this user, so a wrong -p cannot remove a home directory.
 */
public final class Purge {
    private Purge() {}

    /**
     * nodecast's own runtime, staged on this node by the launcher (NODECAST_STAGE; it names the copy in
     * NODECAST_STAGED): removed with DEST at the end of the job, so that a node's memory does not keep it for the
     * next user. Best effort: a copy that is not plainly this user's directory is left alone.
     *
     * @return true if it was removed
     */
    public static boolean purgeStage(java.util.Map<String, String> env) {
        String staged = env.getOrDefault("NODECAST_STAGED", "");
        if (staged.isEmpty()) return false;
        Path p = Path.of(staged);
        try {
            if (!p.isAbsolute() || !p.getFileName().toString().startsWith("nodecast-")
                    || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                    || !Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"))) {
                return false;
            }
            FileTrees.delete(p);   // this JVM runs from it: what it has open or mapped stays until it exits
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** @return true if something was removed, false if there was nothing to remove */
    public static boolean purge(String pattern, String host) {
        Path dest = Destination.expand(pattern, host);
        Destination.checkPlace(dest, "purge");
        // issue 14: images mounted at DEST are unmounted first (dead mounts of a killed job too), their store removed
        boolean released = ImageStack.release(dest);
        if (!Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) return released;
        try {
            Destination.checkPurgeable(dest);
            Path aside = dest.resolveSibling("." + dest.getFileName() + ".purging-" + ProcessHandle.current().pid());
            try {
                Files.move(dest, aside, StandardCopyOption.ATOMIC_MOVE);
            } catch (NoSuchFileException raced) {
                return false;  // another rank of this node got there first
            } catch (AtomicMoveNotSupportedException e) {
                aside = dest;
            }
            FileTrees.delete(aside);
            return true;
        } catch (NoSuchFileException raced) {
            return false;
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot purge " + dest + ": " + e.getMessage(), e);
        }
    }

}
