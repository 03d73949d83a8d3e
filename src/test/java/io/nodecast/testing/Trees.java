package io.nodecast.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** A tree as a comparable map: relative path → type, mode, size/target, content hash. */
public final class Trees {
    private Trees() {}

    public static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                String rel = root.relativize(p).toString();
                if (rel.isEmpty() || rel.startsWith(".nodecast")) continue;
                int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                String what;
                if (Files.isSymbolicLink(p)) what = "link->" + Files.readSymbolicLink(p);
                else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) what = String.format("dir %o", mode & 07777);
                else what = String.format("file %o %d %d", mode & 07777, Files.size(p), java.util.Arrays.hashCode(Files.readAllBytes(p)));
                out.put(rel, what);
            }
        }
        return out;
    }

    public static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new AssertionError(String.join(" ", cmd) + " failed: " + out);
        return out;
    }
}
