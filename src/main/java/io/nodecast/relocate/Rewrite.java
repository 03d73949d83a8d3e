package io.nodecast.relocate;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The byte rewriting behind relocation, as pure functions: no file system, so every form is tested on bytes.
 *
 * <p>An original path matches only as a whole path: the byte after it must end a file name ('/', a quote,
 * a space, the end...), so {@code /opt/app} never rewrites {@code /opt/application}.
 */
public final class Rewrite {
    /**
     * The longest "#!" line, its newline included, that every Linux kernel reads whole: before 5.1 the kernel
     * read 128 bytes and cut the rest silently. pip (distlib) switches to its trampoline at the same length.
     */
    public static final int MAX_SHEBANG = 127;

    private static final Pattern PYTHON = Pattern.compile("(python|pypy)[0-9.]*");

    private Rewrite() {}

    /** One original path and what replaces it. */
    public record Mapping(byte[] from, byte[] to) {
        public static Mapping of(String from, String to) {
            return new Mapping(from.getBytes(StandardCharsets.UTF_8), to.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Longest original first, so that a path inside another original maps by the more specific rule. */
    public static List<Mapping> ordered(List<Mapping> mappings) {
        List<Mapping> out = new ArrayList<>(mappings);
        out.sort(Comparator.comparingInt((Mapping m) -> m.from().length).reversed());
        return List.copyOf(out);
    }

    /** What rewriting one file came to. */
    public sealed interface Result {
        /** @param note what a -v line says about it, if anything */
        record Changed(byte[] bytes, Optional<String> note) implements Result {}

        record Unchanged() implements Result {}

        /** Left as it is, for the reason given (a -v line). */
        record Refused(String why) implements Result {}

        /** A large binary, scanned in pieces: the same length, these bytes written over it ({@link CStringScan}). */
        record Patched(List<Patch> patches) implements Result {
            public Patched {
                patches = List.copyOf(patches);
            }
        }
    }

    /** {@code bytes} written over a binary at {@code offset}; a binary's length never changes. */
    public record Patch(long offset, byte[] bytes) {}

    /**
     * The C strings of a binary, scanned in pieces of any size: the patches {@link #cstring} would make, without the
     * whole file in memory. Each piece must carry {@link #window} bytes past its limit (or reach the end of the file),
     * so that a path that starts before the limit is judged on the same bytes as in the whole file.
     */
    public static final class CStringScan {
        private final Finder finder;
        private final List<Patch> patches = new ArrayList<>();
        private long resume;

        public CStringScan(List<Mapping> mappings) {
            this.finder = new Finder(mappings);
        }

        /** How many bytes a path starting at some offset needs to be judged: the path, the byte after, the tail kept. */
        public int window() {
            int longest = 0;
            for (Mapping m : finder.mappings()) longest = Math.max(longest, m.from().length);
            return longest + TAIL_KEPT + 1;
        }

        /**
         * Scans the paths that start in {@code [0, limit)} of {@code in}; {@code in[0, end)} is the file from offset
         * {@code base}, and {@code end} is the file's end or at least {@link #window} bytes past {@code limit}.
         * @return why the file must be left as it is, once a path cannot be rewritten; then scan no further
         */
        public Optional<String> scan(byte[] in, int end, long base, int limit) {
            int i = (int) Math.max(0, resume - base);
            while ((i = finder.find(in, i, limit, end)) >= 0) {
                Mapping m = matchAt(in, i, end, finder.mappings());
                byte[] old = m.from(), neu = m.to();
                int after = i + old.length;
                int shorter = old.length - neu.length;
                if (shorter < 0) {
                    return Optional.of("the new path is " + (-shorter) + " bytes longer than " + new String(old, StandardCharsets.UTF_8)
                            + ", and a binary has no room for that: left as it is");
                }
                int nul = -1;
                for (int k = after; k < end && k <= after + TAIL_KEPT; k++) {
                    if (in[k] == 0) {
                        nul = k;
                        break;
                    }
                }
                byte[] patch;
                if (nul < 0 || sameTail(old, neu, TAIL_KEPT - (nul - after))) {
                    patch = new byte[old.length];
                    Arrays.fill(patch, 0, shorter, (byte) '/');
                    System.arraycopy(neu, 0, patch, shorter, neu.length);
                } else if (shorter > TAIL_KEPT) {
                    patch = new byte[neu.length + nul - after + 1];
                    System.arraycopy(neu, 0, patch, 0, neu.length);
                    System.arraycopy(in, after, patch, neu.length, nul - after);
                } else {
                    return Optional.of("a string ends " + (nul - after) + " bytes after " + new String(old, StandardCharsets.UTF_8)
                            + ", and the new path is only " + shorter + " bytes shorter: the linker may have merged the string's "
                            + "tail with another one, which rewriting it would change; left as it is");
                }
                patches.add(new Patch(base + i, patch));
                i = after;
                resume = base + after;
            }
            return Optional.empty();
        }

        public List<Patch> patches() {
            return List.copyOf(patches);
        }
    }

    /** Whether a byte can continue a file name, so that a match ending before it is not a whole path. */
    static boolean continuesName(byte b) {
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
                || b == '.' || b == '_' || b == '-' || b == '+' || b == '~' || b < 0;
    }

    /** The mapping whose original starts at {@code at} as a whole path, or null. */
    static Mapping matchAt(byte[] in, int at, int end, List<Mapping> mappings) {
        for (Mapping m : mappings) {
            if (matches(in, at, end, m.from())) return m;
        }
        return null;
    }

    private static boolean matches(byte[] in, int at, int end, byte[] f) {
        if (at + f.length > end) return false;
        for (int k = 0; k < f.length; k++) {
            if (in[at + k] != f[k]) return false;
        }
        return at + f.length == end || !continuesName(in[at + f.length]);
    }

    /**
     * Where original paths start, found the way Horspool's search does for a set of patterns: the window is as long
     * as the shortest original, only its last byte is read, and a byte that no original has there moves it on by as
     * much as that byte allows. Relocation reads every byte of a prefix's binaries at bundle time and on every node
     * after unpacking (68 MB for a Python tier 1); a byte-by-byte loop read them all. Make one per set of mappings
     * and keep it: its tables are built once.
     */
    public static final class Finder {
        private final List<Mapping> mappings;
        private final int shortest;
        /** How far the window may move when this byte is its last: no original has it at a nearer place. */
        private final int[] shift = new int[256];
        /** Whether some original has this byte last in the window: only then is a match checked. */
        private final boolean[] candidate = new boolean[256];

        public Finder(List<Mapping> mappings) {
            this.mappings = mappings;
            int m = Integer.MAX_VALUE;
            for (Mapping x : mappings) m = Math.min(m, x.from().length);
            shortest = mappings.isEmpty() ? 0 : m;
            Arrays.fill(shift, Math.max(1, shortest));
            for (Mapping x : mappings) {
                byte[] f = x.from();
                if (f.length == 0) throw new IllegalArgumentException("an empty original path");
                for (int j = 0; j < shortest - 1; j++) shift[f[j] & 0xff] = Math.min(shift[f[j] & 0xff], shortest - 1 - j);
                candidate[f[shortest - 1] & 0xff] = true;
            }
        }

        public List<Mapping> mappings() {
            return mappings;
        }

        /** The first offset in [from, end) where an original path starts as a whole path; -1 if none. */
        public int find(byte[] in, int from, int end) {
            return find(in, from, end, end);
        }

        /** The first offset in [from, limit) where an original path starts as a whole path in {@code in[0, end)}; -1 if none. */
        int find(byte[] in, int from, int limit, int end) {
            if (mappings.isEmpty()) return -1;
            int last = shortest - 1;
            // a path starting after end - shortest does not fit
            for (int i = from, stop = Math.min(limit, end - last); i < stop; ) {
                int b = in[i + last] & 0xff;
                if (candidate[b] && matchAt(in, i, end, mappings) != null) return i;
                i += shift[b];
            }
            return -1;
        }
    }

    /** Every original path in [from, end) replaced; the result may be longer or shorter. */
    static byte[] replaceAll(byte[] in, int from, int end, Finder finder) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(end - from + 64);
        int last = from;
        for (int i; (i = finder.find(in, last, end)) >= 0; ) {
            Mapping m = matchAt(in, i, end, finder.mappings());
            out.write(in, last, i - last);
            out.write(m.to(), 0, m.to().length);
            last = i + m.from().length;
        }
        out.write(in, last, end - last);
        return out.toByteArray();
    }

    /** A text file: every original path replaced. */
    public static Result text(byte[] in, List<Mapping> mappings) {
        return text(in, new Finder(mappings));
    }

    private static Result text(byte[] in, Finder finder) {
        if (finder.find(in, 0, in.length) < 0) return new Result.Unchanged();
        return new Result.Changed(replaceAll(in, 0, in.length, finder), Optional.empty());
    }

    /**
     * A script. When its interpreter is under an original path, the "#!" line is rebuilt for the new one:
     * a plain "#!" line when it fits in {@value #MAX_SHEBANG} bytes and the path has no blank; for a Python
     * interpreter otherwise pip's trampoline ({@code #!/bin/sh} and an {@code '''exec'} line that Python reads
     * as a string); for any other interpreter the long line, with a note. A trampoline in the original (pip
     * made one because the original path was long) is read back the same way, so the form always suits the
     * new path. The rest of the file is rewritten as text.
     */
    public static Result script(byte[] in, List<Mapping> mappings) {
        Optional<Header> parsed = Header.parse(in);
        Finder finder = new Finder(mappings);
        if (parsed.isEmpty()) return text(in, finder);
        Header h = parsed.get();
        String interp = rewriteString(h.interpreter(), finder);
        if (interp.equals(h.interpreter())) return text(in, finder);
        String args = rewriteString(h.args(), finder);
        byte[] body = replaceAll(in, h.length(), in.length, finder);
        String plain = "#!" + interp + args + "\n";
        int plainBytes = plain.getBytes(StandardCharsets.UTF_8).length;
        boolean blank = interp.indexOf(' ') >= 0 || interp.indexOf('\t') >= 0;
        String header;
        Optional<String> note = Optional.empty();
        if (plainBytes <= MAX_SHEBANG && !blank) {
            header = plain;
        } else if (PYTHON.matcher(baseName(interp)).matches()) {
            header = "#!/bin/sh\n'''exec' " + shellQuote(interp) + args + " \"$0\" \"$@\"\n' '''\n";
        } else {
            header = plain;
            note = Optional.of("its #! line is " + plainBytes + " bytes (" + (blank ? "the interpreter path has a blank, which"
                    : "kernels before Linux 5.1 read " + MAX_SHEBANG + ", and") + " the script may not start): " + interp);
        }
        byte[] head = header.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[head.length + body.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(body, 0, out, head.length, body.length);
        return new Result.Changed(out, note);
    }

    /**
     * A binary: each original path is rewritten in place, and nothing else in the file moves. As conda does, only
     * when the new path is not longer (a binary has no room to grow); unlike conda's plain NUL padding, with care
     * for strings the linker has merged: a string constant that is the tail of another ("3.11.7" inside
     * "/opt/python/3.11.7") is stored once, so rewriting the end of the longer one changes the shorter one too
     * (conda's way turned CPython's sys.version into " (main, ...)" here). So, as Spack does since its PR 32253:
     * <ul>
     * <li>the new path is padded at the front with '/' (Linux reads "///d" as "/d") to the old length, which leaves
     *     the rest of the string, and so its tail, as it was; this is done when the string goes on for at least
     *     {@value #TAIL_KEPT} bytes after the path, or the new path ends with the same bytes as the old one;</li>
     * <li>otherwise the new string is written with its own NUL and the old bytes after it are left, which keeps the
     *     old tail readable when the new path is more than {@value #TAIL_KEPT} bytes shorter;</li>
     * <li>otherwise the whole file is refused: a half-patched binary is worse than none.</li>
     * </ul>
     */
    public static Result cstring(byte[] in, List<Mapping> mappings) {
        CStringScan scan = new CStringScan(mappings);
        Optional<String> refused = scan.scan(in, in.length, 0, in.length);
        if (refused.isPresent()) return new Result.Refused(refused.get());
        if (scan.patches().isEmpty()) return new Result.Unchanged();
        byte[] out = in.clone();
        for (Patch p : scan.patches()) System.arraycopy(p.bytes(), 0, out, (int) p.offset(), p.bytes().length);
        return new Result.Changed(out, Optional.empty());
    }

    /** How many bytes at the end of a C string are kept as they were, for constants merged into its tail. */
    public static final int TAIL_KEPT = 7;

    private static boolean sameTail(byte[] a, byte[] b, int n) {
        if (n <= 0) return true;
        if (a.length < n || b.length < n) return false;
        for (int k = 1; k <= n; k++) {
            if (a[a.length - k] != b[b.length - k]) return false;
        }
        return true;
    }

    private static String rewriteString(String s, Finder finder) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return new String(replaceAll(b, 0, b.length, finder), StandardCharsets.UTF_8);
    }

    private static String baseName(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** As distlib quotes a path with a blank: double quotes, with what sh expands inside them escaped. */
    static String shellQuote(String path) {
        if (path.chars().allMatch(c -> c > ' ' && "\"'\\$`".indexOf(c) < 0)) return path;
        return "\"" + path.replaceAll("([\"\\\\$`])", "\\\\$1") + "\"";
    }

    /**
     * A script's interpreter line: the plain form, or pip's trampoline.
     *
     * @param interpreter the interpreter path (unquoted)
     * @param args        what follows it on the line, leading blank included ("" if nothing)
     * @param length      bytes of the file the header takes, its last newline included
     */
    record Header(String interpreter, String args, int length) {
        private static final Pattern TRAMPOLINE = Pattern.compile(
                "'''exec' (?:\"((?:[^\"\\\\]|\\\\.)*)\"|(\\S+))(.*) \"\\$0\" \"\\$@\"");

        static Optional<Header> parse(byte[] in) {
            if (in.length < 3 || in[0] != '#' || in[1] != '!') return Optional.empty();
            int nl1 = indexOf(in, (byte) '\n', 0);
            if (nl1 < 0) return Optional.empty();
            String first = new String(in, 2, nl1 - 2, StandardCharsets.UTF_8);
            if (first.strip().equals("/bin/sh")) {
                int nl2 = indexOf(in, (byte) '\n', nl1 + 1);
                int nl3 = nl2 < 0 ? -1 : indexOf(in, (byte) '\n', nl2 + 1);
                if (nl3 > 0) {
                    String exec = new String(in, nl1 + 1, nl2 - nl1 - 1, StandardCharsets.UTF_8);
                    String close = new String(in, nl2 + 1, nl3 - nl2 - 1, StandardCharsets.UTF_8);
                    var m = TRAMPOLINE.matcher(exec);
                    if (close.equals("' '''") && m.matches()) {
                        String interp = m.group(1) != null ? m.group(1).replaceAll("\\\\(.)", "$1") : m.group(2);
                        return Optional.of(new Header(interp, m.group(3), nl3 + 1));
                    }
                }
            }
            String line = first.endsWith("\r") ? first.substring(0, first.length() - 1) : first;
            int start = 0;
            while (start < line.length() && (line.charAt(start) == ' ' || line.charAt(start) == '\t')) start++;
            int stop = start;
            while (stop < line.length() && line.charAt(stop) != ' ' && line.charAt(stop) != '\t') stop++;
            if (stop == start) return Optional.empty();
            return Optional.of(new Header(line.substring(start, stop), line.substring(stop), nl1 + 1));
        }

        private static int indexOf(byte[] in, byte b, int from) {
            for (int i = from; i < in.length; i++) if (in[i] == b) return i;
            return -1;
        }
    }
}
