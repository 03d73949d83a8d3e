package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.RawTar;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Archives built to escape, overwrite or confuse, each with what must happen. {@code outside} is a directory beside
 * DEST holding a file {@code victim}; every case must leave both exactly as they were. Targets that would reach
 * further than the test's own temporary directory are never used, so a broken extractor cannot damage the machine.
 */
final class HostileCorpus {
    private HostileCorpus() {}

    /**
     * @param name     what the case tries
     * @param archive  the tar, given the absolute path of the outside directory
     * @param code     the exit code it must end with (OK: accepted, and {@code check} looks at the tree)
     * @param mentions a piece of the one-line message
     */
    record Case(String name, Function<Path, byte[]> archive, ExitCode code, String mentions) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> all() {
        List<Case> c = new ArrayList<>();
        // the chained links of the report: a link to '..' makes a later lexically-fine link climb out
        c.add(refused("a link replaces a directory, a later link beneath it climbs out", o -> new RawTar()
                .file("a/b/l/dummy", "x").symlink("a/b", "..").symlink("a/b/l", "../../outside")
                .file("a/b/l/pwned", "pwned").bytes(), "through the symbolic link 'a/b'"));
        c.add(refused("a directory replaced by a link inside DEST is not written through", o -> new RawTar()
                .dir("d").symlink("d", "e").dir("e").file("d/f", "x").bytes(), "through the symbolic link 'd'"));
        c.add(refused("a link to DEST itself, then names through it", o -> new RawTar()
                .dir("a").symlink("a/s", "../a").file("a/s/s/f", "x").bytes(), "through the symbolic link"));
        c.add(refused("two links that each look inside, chained to climb", o -> new RawTar()
                .dir("x").symlink("x/a", "..").symlink("y", "x/a/../..").bytes(), "climbs back"));
        c.add(refused("a link up two levels from one level down", o -> new RawTar()
                .dir("q").symlink("q/up", "../../outside").file("q/up/victim", "pwned").bytes(), "leaves the destination"));
        c.add(refused("a hard link through a directory replaced by a link", o -> new RawTar()
                .dir("t").file("t/f", "x").symlink("t", "u").dir("u").hardlink("h", "t/victim").bytes(), "not a regular file"));
        c.add(refused("an absolute name", o -> new RawTar().file(o.resolve("abs").toString(), "x").bytes(), "absolute path"));
        c.add(refused("an absolute name over the victim", o -> new RawTar().file(o.resolve("victim").toString(), "pwned").bytes(), "absolute path"));
        c.add(refused("'..' at the start", o -> new RawTar().file("../outside/victim", "pwned").bytes(), "climbs out"));
        c.add(refused("'..' in the middle", o -> new RawTar().file("a/../../outside/victim", "pwned").bytes(), "climbs out"));
        c.add(refused("a symbolic link to an absolute path, then a file through it", o -> new RawTar()
                .symlink("escape", o.toString()).file("escape/inside.txt", "x").bytes(), "absolute path"));
        c.add(refused("a relative link out", o -> new RawTar().symlink("up", "../outside").bytes(), "leaves the destination"));
        c.add(refused("a hard link to an absolute path", o -> new RawTar().hardlink("h", o.resolve("victim").toString()).bytes(), "absolute path"));
        c.add(refused("a hard link climbing out", o -> new RawTar().hardlink("h", "../outside/victim").bytes(), "climbs out"));
        c.add(refused("a hard link to a directory", o -> new RawTar().dir("somedir").hardlink("h", "somedir").bytes(), "not a regular file"));
        c.add(refused("a hard link to a symbolic link", o -> new RawTar().symlink("sl", "nowhere").hardlink("h", "sl").bytes(), "not a regular file"));
        c.add(refused("a hard link to nothing", o -> new RawTar().hardlink("h", "missing").bytes(), "not a regular file"));
        c.add(refused("a character device", o -> new RawTar().header("dev/null", '3').end().bytes(), "device"));
        c.add(refused("a block device", o -> new RawTar().header("sda", '4').end().bytes(), "device"));
        c.add(refused("a FIFO", o -> new RawTar().header("pipe", '6').end().bytes(), "FIFO"));
        c.add(refused("a member that writes the ledger", o -> new RawTar().file(".nodecast/ledger", "0\t0\tx\tx\n").bytes(), ".nodecast"));
        c.add(refused("a member under ./.nodecast", o -> new RawTar().file("./.nodecast/lock", "x").bytes(), ".nodecast"));
        c.add(refused("a link into the ledger's directory", o -> new RawTar().symlink("l", ".nodecast/ledger").bytes(), ".nodecast"));
        c.add(refused("a hard link to the ledger", o -> new RawTar().hardlink("h", ".nodecast/ledger").bytes(), ".nodecast"));
        c.add(refused("an empty name", o -> new RawTar().header(new byte[0], '0').end().bytes(), "empty name"));
        c.add(refused("a file named '.' (the destination)", o -> new RawTar().file("./", "x").bytes(), "destination itself"));
        c.add(refused("a link replacing the destination", o -> new RawTar().symlink(".", "x").bytes(), "destination itself"));
        c.add(new Case("a path 50,000 directories deep", o -> new RawTar()
                .pax('x', Map.of("path", "a/".repeat(50_000) + "f")).header("placeholder", '0').end().bytes(),
                ExitCode.UNSAFE, "longer than the system allows"));
        c.add(new Case("a GNU long name over the limit", o -> new RawTar()
                .gnuLong('L', "a/".repeat(50_000).concat("f").getBytes(StandardCharsets.US_ASCII))
                .header("placeholder", '0').end().bytes(), ExitCode.BUNDLE, "over the limit"));
        c.add(new Case("a component longer than NAME_MAX", o -> new RawTar()
                .gnuLong('L', ("d/" + "n".repeat(300)).getBytes(StandardCharsets.US_ASCII))
                .header("placeholder", '0').end().bytes(), ExitCode.UNSAFE, "longer than the system allows"));
        c.add(new Case("a long name claiming 1.2 GB", o -> new RawTar().header("././@LongLink", 'L').gnuMagic()
                .size(1_200_000_000L).data(new byte[1024]).bytes(), ExitCode.BUNDLE, "over the limit"));
        c.add(new Case("a pax header claiming 1.2 GB", o -> new RawTar().header("PaxHeaders/x", 'x')
                .size(1_200_000_000L).data(new byte[1024]).bytes(), ExitCode.BUNDLE, "over the limit"));
        c.add(new Case("a sparse map of ten million segments", o -> new RawTar().pax('x', Map.of(
                        "GNU.sparse.major", "1", "GNU.sparse.minor", "0", "GNU.sparse.name", "s", "GNU.sparse.realsize", "100"))
                .header("s", '0').size(512).data("10000000\n".getBytes(StandardCharsets.US_ASCII)).bytes(),
                ExitCode.BUNDLE, "segments"));
        c.add(new Case("a sparse map past the file's end", o -> new RawTar().pax('x', Map.of(
                        "GNU.sparse.map", "0,5,1000,5", "GNU.sparse.size", "10", "GNU.sparse.name", "s"))
                .header("s", '0').size(10).data("0123456789".getBytes(StandardCharsets.US_ASCII)).bytes(),
                ExitCode.BUNDLE, "sparse map"));
        c.add(new Case("a negative size", o -> new RawTar().header("neg", '0')
                .raw(124, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                        (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xfe}).end().bytes(),
                ExitCode.BUNDLE, "negative size"));
        c.add(new Case("a header whose checksum is wrong", o -> {
            byte[] t = new RawTar().file("f", "x").bytes();
            t[0] ^= 1;
            return t;
        }, ExitCode.BUNDLE, "checksum"));
        c.add(new Case("a NUL in a pax path", o -> new RawTar().pax('x', Map.of("path", "a\0../../outside/victim"))
                .header("f", '0').end().bytes(), ExitCode.BUNDLE, "NUL"));
        c.add(new Case("a pax record with a wrong length", o -> {
            byte[] body = "99 path=x\n".getBytes(StandardCharsets.US_ASCII);
            return new RawTar().header("PaxHeaders/x", 'x').size(body.length).data(body).file("f", "y").bytes();
        }, ExitCode.BUNDLE, "pax record"));
        c.add(new Case("an archive cut inside a member", o -> {
            byte[] t = new RawTar().file("big", "y".repeat(5000)).file("after", "z").bytes();
            return java.util.Arrays.copyOf(t, 2048);
        }, ExitCode.BUNDLE, "truncated"));
        c.add(new Case("a multi-volume continuation", o -> new RawTar().header("cont", 'M').end().bytes(),
                ExitCode.BUNDLE, "multi-volume"));
        return c;
    }

    private static Case refused(String name, Function<Path, byte[]> archive, String mentions) {
        return new Case(name, archive, ExitCode.UNSAFE, mentions);
    }

    /** Sequences that look odd but are legitimate: each must unpack, to exactly the tree given (path to content). */
    record Accepted(String name, byte[] archive, Map<String, String> tree) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Accepted> accepted() {
        List<Accepted> a = new ArrayList<>();
        a.add(new Accepted("a directory replaced by a link and by a directory again",
                new RawTar().dir("x").file("x/y", "1").symlink("x", "z").dir("x").file("x/y", "2").bytes(),
                tree("x/", "", "x/y", "2")));
        a.add(new Accepted("a link replaced by a directory that is then filled",
                new RawTar().dir("sub").symlink("s", "sub").dir("s").file("s/f", "in s").bytes(),
                tree("sub/", "", "s/", "", "s/f", "in s")));
        a.add(new Accepted("links that stay inside, chained",
                new RawTar().dir("lib").file("lib/libx.so.1", "elf").symlink("lib/libx.so", "libx.so.1")
                        .dir("bin").symlink("bin/lib", "../lib").symlink("bin/x", "lib/libx.so").bytes(),
                tree("lib/", "", "lib/libx.so.1", "elf", "lib/libx.so", "->libx.so.1", "bin/", "", "bin/lib", "->../lib",
                        "bin/x", "->lib/libx.so")));
        a.add(new Accepted("a hard link, then its target replaced (the link keeps the old data)",
                new RawTar().file("one", "shared").hardlink("two", "one").file("one", "new").bytes(),
                tree("one", "new", "two", "shared")));
        a.add(new Accepted("a file replaced by a directory and the reverse",
                new RawTar().file("p", "file").dir("q").file("q/in", "1").dir("p").file("p/in", "2").file("q", "now a file").bytes(),
                tree("p/", "", "p/in", "2", "q", "now a file")));
        return a;
    }

    private static Map<String, String> tree(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }
}
