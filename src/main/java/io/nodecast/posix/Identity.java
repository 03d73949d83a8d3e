package io.nodecast.posix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Who this process is to the kernel: its effective uid and gid and its umask, read from /proc/self/status at each
 * {@link #current()} (the JDK exposes none of them). Ownership checks compare against these: a destination, an image store, the
 * file where the ranks of a one-node step meet.
 */
public record Identity(int uid, int gid, int umask) {

    public static Identity current() {
        int uid = -1;
        int gid = -1;
        int umask = 022;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                // Uid: real effective saved fs; the effective one owns what this process creates
                if (line.startsWith("Uid:")) uid = Integer.parseInt(line.substring(4).strip().split("\\s+")[1]);
                if (line.startsWith("Gid:")) gid = Integer.parseInt(line.substring(4).strip().split("\\s+")[1]);
                if (line.startsWith("Umask:")) umask = Integer.parseInt(line.substring(6).strip(), 8);
            }
        } catch (IOException | RuntimeException e) {
            // without /proc, fall back on the owner of a file we create
        }
        if (uid < 0 || gid < 0) {
            try {
                Path probe = Files.createTempFile("nodecast-id", "");
                try {
                    uid = (Integer) Files.getAttribute(probe, "unix:uid");
                    gid = (Integer) Files.getAttribute(probe, "unix:gid");
                } finally {
                    Files.delete(probe);
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot tell this process's uid and gid", e);
            }
        }
        return new Identity(uid, gid, umask);
    }

    public boolean root() {
        return uid == 0;
    }
}
