package io.nodecast.slowfs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether our mount is still there, read from /proc/self/mountinfo: asking the mount point itself (a stat) would
 * be an operation on the file system we count.
 */
final class MountInfo {
    private MountInfo() {}

    static boolean mounted(String escapedMountpoint) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // id parent major:minor root MOUNTPOINT options [optional fields] - FSTYPE source super-options
                String[] f = line.split(" ");
                int dash = line.indexOf(" - ");
                if (f.length > 4 && f[4].equals(escapedMountpoint) && dash > 0
                        && line.substring(dash + 3).startsWith("fuse.slowfs ")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return true;   // cannot tell: keep serving
        }
    }

    /** The kernel writes space, tab, newline and backslash in mountinfo as octal escapes. */
    static String escape(String path) {
        return path.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012");
    }
}
