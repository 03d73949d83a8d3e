package io.nodecast.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** This process's view of the mount table (/proc/self/mountinfo): the only record of what is mounted where. */
final class MountTable {
    private MountTable() {}

    /** One mount: where, what kind ("fuse.squashfuse", "overlay", "squashfs"), and its options. */
    record Mount(Path point, String type, String options) {
        boolean fuse() {
            return type.startsWith("fuse");
        }
    }

    static List<Mount> read() {
        try {
            return parse(Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8));
        } catch (IOException e) {
            return List.of();
        }
    }

    static List<Mount> parse(List<String> lines) {
        List<Mount> out = new ArrayList<>();
        for (String line : lines) {
            // id parent major:minor root point options [optional...] - type source super-options
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (f.length < 7 || dash < 6 || dash + 1 >= f.length) continue;
            out.add(new Mount(Path.of(unescape(f[4])), unescape(f[dash + 1]), f[5] + "," + (dash + 3 < f.length ? f[dash + 3] : "")));
        }
        return out;
    }

    /**
     * The mounts at {@code a} or {@code b} or anywhere under them, deepest first (the order they must be unmounted in);
     * a path mounted over twice appears twice.
     */
    static List<Mount> under(Path a, Path b) {
        return read().stream()
                .filter(m -> m.point().startsWith(a) || m.point().startsWith(b))
                .sorted(Comparator.comparingInt((Mount m) -> m.point().getNameCount()).reversed())
                .toList();
    }

    static boolean mounted(Path point) {
        return read().stream().anyMatch(m -> m.point().equals(point));
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes (\040). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[] in = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < in.length; i++) {
            if (in[i] == '\\' && isOctal(in, i + 1)) {
                b.write(Integer.parseInt(new String(in, i + 1, 3, StandardCharsets.US_ASCII), 8));
                i += 3;
            } else {
                b.write(in[i]);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private static boolean isOctal(byte[] in, int from) {
        if (from + 3 > in.length) return false;
        for (int i = from; i < from + 3; i++) if (in[i] < '0' || in[i] > '7') return false;
        return true;
    }
}
