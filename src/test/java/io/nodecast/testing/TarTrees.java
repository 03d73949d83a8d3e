package io.nodecast.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * A directory tree as GNU find and sha256sum see it, byte for byte: names that are not UTF-8 survive (java.nio
 * cannot open them), and the comparison is the one a user would make with the same tools.
 */
public final class TarTrees {
    private TarTrees() {}

    /**
     * sha256 of a file's data extents (SEEK_DATA/SEEK_HOLE) with their offsets, so that a sparse file of 60 GB with
     * a few bytes of data hashes in no time; files with the same bytes and the same holes hash the same.
     */
    private static final String HASH = """
            import hashlib, os, sys
            for name in sys.argv[1:]:
                h = hashlib.sha256()
                with open(name.encode('utf-8', 'surrogateescape'), 'rb') as f:
                    fd = f.fileno(); size = os.fstat(fd).st_size; off = 0
                    while off < size:
                        try: start = os.lseek(fd, off, os.SEEK_DATA)
                        except OSError: break
                        end = os.lseek(fd, start, os.SEEK_HOLE)
                        f.seek(start); h.update(b'%d:' % start); h.update(f.read(end - start)); off = end
                sys.stdout.buffer.write(h.hexdigest().encode() + b'  ' + name.encode('utf-8', 'surrogateescape') + b'\\0')
            """;

    /**
     * Path → "type mode size mtime target links sha256" for every entry under root, nodecast's own records left out.
     *
     * @param modeMask  the permission bits compared (GNU tar as root restores setuid and the like; nodecast drops them)
     * @param withTimes whether modification times (whole seconds) are part of the description
     */
    public static Map<String, String> describe(Path root, int modeMask, boolean withTimes) throws IOException, InterruptedException {
        String script = """
                cd "$1" || exit 1
                find . -mindepth 1 -path ./.nodecast -prune -o -printf '%P\\0%y %m %s %T@ %l %n\\0'
                printf 'SUMS\\0'
                find . -mindepth 1 -path ./.nodecast -prune -o -type f -print0 | xargs -0 -r python3 -c "$HASH"
                """;
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", script, "describe", root.toString()).redirectErrorStream(false);
        pb.environment().put("HASH", HASH);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new AssertionError("describing " + root + " failed: " + err);
        String all = new String(out, StandardCharsets.ISO_8859_1);
        int sums = all.indexOf("SUMS\0");
        String[] items = all.substring(0, sums).split("\0", -1);
        Map<String, String> tree = new TreeMap<>();
        for (int i = 0; i + 1 < items.length; i += 2) {
            String[] f = items[i + 1].split(" ", -1);
            int mode = Integer.parseInt(f[1], 8) & modeMask;
            String time = withTimes && !f[0].equals("d") && !f[0].equals("l") ? " t=" + f[3].replaceAll("\\..*", "") : "";
            String size = f[0].equals("f") ? " size=" + f[2] : "";
            String link = f[0].equals("l") ? " ->" + f[4] : "";
            String nlink = f[0].equals("f") ? " links=" + f[5] : "";
            String m = f[0].equals("l") ? "" : String.format(" %o", mode);
            tree.put(items[i], f[0] + m + size + time + link + nlink);
        }
        for (String line : all.substring(sums + 5).split("\0")) {
            if (line.isBlank()) continue;
            String hash = line.substring(0, 64);
            String name = line.substring(66);
            if (name.startsWith("./")) name = name.substring(2);
            tree.computeIfPresent(name, (k, v) -> v + " sha256=" + hash.substring(0, 16));
        }
        return tree;
    }
}
