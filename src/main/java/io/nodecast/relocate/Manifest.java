package io.nodecast.relocate;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a bundle says about where it was made: the bundle's first entry, a regular file named
 * {@value #ENTRY_NAME} at its root. The extractor keeps it off the disk and hands its bytes to the
 * {@link Relocator}; GNU tar users get a harmless hidden file.
 *
 * <p>The format is text, one record a line, fields separated by one space, every field percent-encoded
 * (bytes outside printable ASCII, the space and '%' become {@code %XX} of their UTF-8 encoding):
 * <pre>
 * nodecast-bundle 1
 * map /root/.pyenv/versions/3.11.7 .          original absolute path, where it lands in DEST ("." is DEST)
 * shebang bin/pip3                            a script whose "#!" line names an original path
 * text lib/pkgconfig/python-3.11.pc           any other file without a NUL byte
 * cstring lib/libpython3.11.so.1.0            ELF or ar: original paths as NUL-terminated strings
 * </pre>
 * Lines starting with '#' are comments. Anything else is refused, so a manifest from a newer nodecast fails
 * loudly instead of relocating half a tree.
 */
public record Manifest(List<Origin> origins, List<Entry> files) {
    public static final String ENTRY_NAME = ".nodecast-bundle";
    public static final int VERSION = 1;
    /** Bounds what the extractor holds in memory for it. */
    public static final int MAX_BYTES = 16 << 20;

    private static final String MAGIC = "nodecast-bundle";

    /**
     * An absolute path the bundle's files may name, and where its contents land in DEST.
     *
     * @param path   absolute, normalized, not "/"
     * @param target relative to DEST, normalized, no "..": "" for DEST itself
     */
    public record Origin(String path, String target) {
        public Origin {
            checkOrigin(path);
            target = target.equals(".") ? "" : target;
            if (!target.isEmpty()) checkRelative(target, "map target");
        }
    }

    /** How a file is rewritten. */
    public enum Kind {
        /** Every original path in the file becomes its new one; the file may grow or shrink. */
        TEXT,
        /** A script: its "#!" line is rebuilt for the new interpreter path (pip's trampoline if long), the rest as text. */
        SHEBANG,
        /** A binary: each NUL-terminated string holding an original path is rewritten in place and NUL-padded. */
        CSTRING;

        String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** @param path relative to the bundle root, '/'-separated, normalized */
    public record Entry(Kind kind, String path) {
        public Entry {
            checkRelative(path, "file");
        }
    }

    public Manifest {
        origins = List.copyOf(origins);
        files = List.copyOf(files);
        Set<String> seen = new HashSet<>();
        for (Entry e : files) {
            if (!seen.add(e.path())) throw invalid("lists '" + e.path() + "' twice");
        }
    }

    /** A bundle that names no original path: nothing to relocate (a tier-3 tree, a system-library bundle). */
    public static Manifest empty() {
        return new Manifest(List.of(), List.of());
    }

    public boolean isEmpty() {
        return origins.isEmpty() || files.isEmpty();
    }

    public byte[] encode() {
        StringBuilder b = new StringBuilder(64 + 64 * files.size());
        b.append(MAGIC).append(' ').append(VERSION).append('\n');
        for (Origin o : origins) {
            b.append("map ").append(escape(o.path())).append(' ').append(o.target().isEmpty() ? "." : escape(o.target())).append('\n');
        }
        for (Entry e : files) b.append(e.kind().word()).append(' ').append(escape(e.path())).append('\n');
        byte[] out = b.toString().getBytes(StandardCharsets.US_ASCII);
        if (out.length > MAX_BYTES) {
            throw new NodecastException(ExitCode.BUNDLE, "the relocation list of this bundle would take " + out.length
                    + " bytes, over the limit of " + MAX_BYTES + " (" + files.size() + " files name the original prefix)");
        }
        return out;
    }

    public static Manifest decode(byte[] bytes) {
        if (bytes.length > MAX_BYTES) throw invalid("is " + bytes.length + " bytes long, over the limit of " + MAX_BYTES);
        String text = new String(bytes, StandardCharsets.US_ASCII);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] < 0 || (bytes[i] < 0x20 && bytes[i] != '\n')) throw invalid("holds a byte outside printable ASCII at offset " + i);
        }
        List<String> lines = text.lines().toList();
        if (lines.isEmpty() || !lines.getFirst().startsWith(MAGIC + " ")) throw invalid("does not start with '" + MAGIC + " <version>'");
        String version = lines.getFirst().substring(MAGIC.length() + 1);
        if (!version.equals(String.valueOf(VERSION))) {
            throw invalid("has version '" + version + "'; this nodecast reads version " + VERSION + " (was the bundle made by a newer nodecast?)");
        }
        List<Origin> origins = new ArrayList<>();
        List<Entry> files = new ArrayList<>();
        for (int n = 1; n < lines.size(); n++) {
            String line = lines.get(n);
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] f = line.split(" ", -1);
            String where = "line " + (n + 1);
            try {
                switch (f[0]) {
                    case "map" -> {
                        if (f.length != 3) throw invalid(where + ": 'map' takes two fields");
                        origins.add(new Origin(unescape(f[1]), unescape(f[2])));
                    }
                    case "text", "shebang", "cstring" -> {
                        if (f.length != 2) throw invalid(where + ": '" + f[0] + "' takes one field");
                        files.add(new Entry(Kind.valueOf(f[0].toUpperCase(Locale.ROOT)), unescape(f[1])));
                    }
                    default -> throw invalid(where + ": unknown record '" + f[0] + "'");
                }
            } catch (IllegalArgumentException e) {
                throw invalid(where + ": " + e.getMessage());
            }
        }
        if (!files.isEmpty() && origins.isEmpty()) throw invalid("lists files to rewrite but no original path");
        return new Manifest(origins, files);
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xFF;
            if (c > 0x20 && c < 0x7F && c != '%') b.append((char) c);
            else b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16))).append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
        }
        return b.toString();
    }

    static String unescape(String s) {
        if (s.isEmpty()) throw new IllegalArgumentException("empty field");
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '%') {
                out.write(c);
                continue;
            }
            if (i + 2 >= s.length()) throw new IllegalArgumentException("'%' without two hex digits in '" + s + "'");
            int hi = Character.digit(s.charAt(i + 1), 16), lo = Character.digit(s.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) throw new IllegalArgumentException("'%' without two hex digits in '" + s + "'");
            out.write(hi << 4 | lo);
            i += 2;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static void checkOrigin(String path) {
        if (!path.startsWith("/") || path.length() < 2) throw new IllegalArgumentException("'" + path + "' is not an absolute path below /");
        checkNames(path.substring(1), path);
    }

    private static void checkRelative(String path, String what) {
        if (path.startsWith("/")) throw new IllegalArgumentException(what + " '" + path + "' is absolute");
        checkNames(path, path);
    }

    /** Normalized names only: no empty, ".", ".." or NUL, so a path means the same to every reader. */
    private static void checkNames(String names, String whole) {
        for (String part : names.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..") || part.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("'" + whole + "' is not a plain normalized path");
            }
        }
    }

    private static NodecastException invalid(String why) {
        return new NodecastException(ExitCode.BUNDLE, "the bundle's relocation list (" + ENTRY_NAME + ") " + why);
    }
}
