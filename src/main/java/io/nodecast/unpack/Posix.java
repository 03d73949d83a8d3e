package io.nodecast.unpack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The calling process's uid and umask, read once from /proc (the JDK exposes neither). */
record Posix(int uid, int umask) {
    static Posix current() {
        int uid = -1;
        int umask = 022;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) uid = Integer.parseInt(line.substring(4).strip().split("\\s+")[1]);
                if (line.startsWith("Umask:")) umask = Integer.parseInt(line.substring(6).strip(), 8);
            }
        } catch (IOException | RuntimeException e) {
            // without /proc, fall back on the owner of a file we create
        }
        if (uid < 0) {
            try {
                Path probe = Files.createTempFile("nodecast-uid", "");
                uid = (Integer) Files.getAttribute(probe, "unix:uid");
                Files.delete(probe);
            } catch (IOException e) {
                throw new IllegalStateException("cannot tell this process's uid", e);
            }
        }
        return new Posix(uid, umask);
    }
}
