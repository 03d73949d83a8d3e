package io.nodecast.e2e;

import io.nodecast.core.FileTrees;
import io.nodecast.relocate.Rewrite;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import io.nodecast.trace.Trace;
import io.nodecast.trace.TraceReport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * A delivered copy that never points back: the machine's real Python prefix, bundled, delivered to two
 * destinations (one shorter than the original prefix, so binaries are patched too, one longer, so they are
 * not), and every console script run from each under strace.
 */
@Tag("python")
@Tag("strace")
class RelocationTest {
    @TempDir static Path tmp;
    static Path shortDest, longDest;
    static String original;
    static String longLog;
    /** The environment of a user who has not rerouted anything: the scripts alone must lead to DEST. */
    static final Map<String, String> BARE = Map.of("PATH", "/usr/bin:/bin", "HOME", System.getProperty("user.home"), "LANG", "C.UTF-8");

    @BeforeAll
    static void deliverToTwoDestinations() throws Exception {
        original = RealPython.prefix().toString();
        Path bundle = RealPython.bundle();
        // at least 8 bytes shorter, so that even a string that ends with the prefix has room (Rewrite.TAIL_KEPT)
        shortDest = Path.of("/tmp", "nc" + ProcessHandle.current().pid());
        FileTrees.delete(shortDest);
        assumeThat(shortDest.toString().length()).as("a destination 8 bytes shorter than " + original)
                .isLessThan(original.length() - Rewrite.TAIL_KEPT);
        Launcher.Result s = Launcher.run(Map.of(), "bcast", "-p", shortDest.toString(), bundle.toString());
        assertThat(s.exit()).as(s.err()).isZero();

        // the long one also gets tier 2: a pip bundle and a user base, each with a console script
        longDest = tmp.resolve("a-destination-longer-than-the-original-prefix");
        Path pip = tmp.resolve("tier2-pip.tar.zst");
        Launcher.Result p = Launcher.run(Map.of(), "bundle", "pip", "--pip-arg=--no-index", "-o", pip.toString(),
                wheel("pipped", "pipped-tool").toString());
        assertThat(p.exit()).as(p.err()).isZero();
        assertThat(p.out()).contains("1 files to relocate at unpack");
        Path base = tmp.resolve("userbase");
        Launcher.Result u = Launcher.exec(List.of("python3", "-m", "pip", "install", "--user", "--no-index", "--no-warn-script-location",
                "--disable-pip-version-check", wheel("based", "based-tool").toString()), Map.of("PYTHONUSERBASE", base.toString()));
        assertThat(u.exit()).as(u.err()).isZero();
        Path ub = tmp.resolve("tier2-userbase.tar.zst");
        Launcher.Result b = Launcher.run(Map.of(), "bundle", "userbase", "--base", base.toString(), "-o", ub.toString());
        assertThat(b.exit()).as(b.err()).isZero();
        Launcher.Result l = Launcher.run(Map.of(), "bcast", "-v", "-p", longDest.toString(), bundle.toString(), pip.toString(), ub.toString());
        assertThat(l.exit()).as(l.err()).isZero();
        longLog = l.err();
    }

    @AfterAll
    static void removeTheShortDestination() {
        if (shortDest != null) FileTrees.deleteQuietly(shortDest);
    }

    /** A wheel with one module and one console script that prints where its interpreter lives. */
    private static Path wheel(String pkg, String script) throws IOException {
        Path w = tmp.resolve(pkg + "-1.0-py3-none-any.whl");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(w))) {
            put(z, pkg + "/__init__.py", "import sys\ndef main():\n    print(sys.prefix)\n");
            put(z, pkg + "-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: " + pkg + "\nVersion: 1.0\n");
            put(z, pkg + "-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n");
            put(z, pkg + "-1.0.dist-info/entry_points.txt", "[console_scripts]\n" + script + " = " + pkg + ":main\n");
            put(z, pkg + "-1.0.dist-info/RECORD", "");
        }
        return w;
    }

    private static void put(ZipOutputStream z, String name, String text) throws IOException {
        z.putNextEntry(new ZipEntry(name));
        z.write(text.getBytes(StandardCharsets.UTF_8));
        z.closeEntry();
    }

    /** The console scripts of DEST/bin: regular files whose "#!" line (or pip's trampoline) names DEST's interpreter. */
    private static List<String> scripts(Path dest) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dest.resolve("bin"))) {
            for (Path p : s.sorted().toList()) {
                if (!Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) continue;
                try (InputStream in = Files.newInputStream(p)) {
                    String head = new String(in.readNBytes(512), StandardCharsets.ISO_8859_1);
                    if (head.startsWith("#!") && head.lines().limit(2).anyMatch(l -> l.contains(dest + "/bin/python"))) {
                        out.add(p.getFileName().toString());
                    }
                }
            }
        }
        return out;
    }

    private static TraceReport trace(Path script, Path dest, Path... alsoShared) {
        List<Path> shared = new ArrayList<>(List.of(Path.of(original), dest));
        shared.addAll(List.of(alsoShared));
        return Trace.run(List.of(script.toString(), "--version"), BARE, shared, ProcessBuilder.Redirect.DISCARD);
    }

    @Test
    void everyConsoleScriptRunsFromTheShortCopyWithZeroCallsUnderTheOriginalPrefix() throws Exception {
        List<String> names = scripts(shortDest);
        assertThat(names).contains("pip3", "pytest", "f2py", "isympy").hasSizeGreaterThan(40);
        Map<String, String> wrong = new TreeMap<>();
        int accepted = 0;
        for (String n : names) {
            Launcher.Result there = Launcher.exec(List.of(Path.of(original, "bin", n).toString(), "--version"), BARE);
            TraceReport here = trace(shortDest.resolve("bin").resolve(n), shortDest, longDest);
            if (here.exitCode() != there.exit()) wrong.put(n, "exit " + here.exitCode() + " here, " + there.exit() + " from the original");
            long back = here.underShared().get(original) + here.underShared().get(longDest.toString());
            if (back > 0) wrong.put(n, back + " calls under the original prefix or the other copy");
            if (there.exit() == 0) {
                accepted++;
                if (here.underShared().get(shortDest.toString()) < 50) wrong.put(n, "hardly ran from " + shortDest);
            }
        }
        assertThat(wrong).as("console scripts that do not behave from " + shortDest).isEmpty();
        assertThat(accepted).as("scripts that accept --version").isGreaterThanOrEqualTo(20);
    }

    @Test
    void theLongCopyRunsItsScriptsAndTier2sWithoutTheOriginalOrTheFirstCopy() {
        for (String n : List.of("pip3", "pytest", "f2py", "isympy", "pydoc3")) {
            TraceReport r = trace(longDest.resolve("bin").resolve(n), longDest, shortDest);
            assertThat(r.exitCode()).as(n).isZero();
            assertThat(r.underShared().get(original)).as(n + ": calls under " + original).isZero();
            assertThat(r.underShared().get(shortDest.toString())).as(n + ": calls under the first copy").isZero();
            assertThat(r.underShared().get(longDest.toString())).as(n).isGreaterThan(50);
        }
        for (String tool : List.of("pipped-tool", "based-tool")) {
            Path script = longDest.resolve("bin").resolve(tool);
            Launcher.Result r = Launcher.exec(List.of(script.toString()), BARE);
            assertThat(r.exit()).as(tool + ": " + r.err()).isZero();
            assertThat(r.out().strip()).as(tool + " runs under DEST's interpreter").isEqualTo(longDest.toString());
            TraceReport t = Trace.run(List.of(script.toString()), BARE, List.of(Path.of(original), tmp.resolve("userbase")),
                    ProcessBuilder.Redirect.DISCARD);
            assertThat(t.underShared().values()).as(tool).containsOnly(0L);
        }
    }

    @Test
    void noTextFileInEitherCopyNamesTheOriginalPrefix() throws Exception {
        for (Path dest : List.of(shortDest, longDest)) {
            Launcher.Result g = Launcher.exec(List.of("grep", "-rlI", "--", original, dest.toString()), Map.of());
            assertThat(g.exit()).as("grep -rlI " + original + " " + dest + " found:\n" + g.out()).isEqualTo(1);
            assertThat(g.out()).isEmpty();
        }
    }

    @Test
    void configurationFilesNameTheirCopy() throws Exception {
        for (Path dest : List.of(shortDest, longDest)) {
            assertThat(Files.readString(dest.resolve("lib/pkgconfig/python-3.11.pc"))).contains("prefix=" + dest + "\n");
            assertThat(Files.readString(dest.resolve("bin/python3.11-config"))).contains(dest.toString());
            try (Stream<Path> s = Files.list(dest.resolve("lib/python3.11"))) {
                Path sysconfig = s.filter(p -> p.getFileName().toString().startsWith("_sysconfigdata")).findFirst().orElseThrow();
                assertThat(Files.readString(sysconfig)).contains("'prefix': '" + dest + "'");
            }
            assertThat(Files.readAllLines(dest.resolve("bin/pip3")).getFirst()).isEqualTo("#!" + dest + "/bin/python3.11");
        }
    }

    @Test
    void binariesArePatchedWhereTheyFitAndNamedWhereTheyDoNot() throws Exception {
        // shorter: libpython's built-in prefix names the copy, and the version merged into that string's tail survives
        Launcher.Result r = Launcher.exec(List.of(shortDest.resolve("bin/python3").toString(), "-c",
                "import platform, sys; print(platform.python_version()); print(sys.prefix)"), BARE);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).containsExactly(RealPython.version(), shortDest.toString());
        String strings = Launcher.exec(List.of("strings", "-a", shortDest.resolve("lib/libpython3.11.so.1.0").toString()), Map.of()).out();
        assertThat(strings).doesNotContain(original).contains(shortDest.toString());
        // longer: left as they are, each named with -v
        assertThat(longLog).contains("lib/libpython3.11.so.1.0: not relocated: the new path is");
    }

    @Test
    void aBundleWithoutARelocationListIsUnpackedAsItIsAndSaysSo() throws Exception {
        Path old = Files.createDirectories(tmp.resolve("gnu/lib/pkgconfig"));
        Files.writeString(old.resolve("x.pc"), "prefix=" + original + "\n");
        Path tar = tmp.resolve("by-gnu-tar.tar.gz");
        Launcher.Result t = Launcher.exec(List.of("tar", "-C", tmp.resolve("gnu").toString(), "-czf", tar.toString(), "lib"), Map.of());
        assertThat(t.exit()).as(t.err()).isZero();
        Path dest = tmp.resolve("gnu-dest");
        Launcher.Result r = Launcher.run(Map.of(), "bcast", "-v", "-p", dest.toString(), tar.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("by-gnu-tar.tar.gz: no relocation list").contains("not relocated");
        assertThat(Files.readString(dest.resolve("lib/pkgconfig/x.pc"))).isEqualTo("prefix=" + original + "\n");
    }
}
