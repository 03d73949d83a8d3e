package io.nodecast.cli;

import io.nodecast.bundle.Checksums;
import io.nodecast.format.Compression;
import io.nodecast.core.ExitCode;
import io.nodecast.testing.Cli;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.TarBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** bcast on one node (the local transport): the same code paths a job runs, with real files. */
class BcastCommandTest {
    @TempDir Path tmp;

    private Path bundle(String name, TarBuilder content) {
        return content.writeTo(tmp.resolve(name));
    }

    @Test
    void laterBundlesOverwriteEarlierOnesAndTimingsArePrinted() throws IOException {
        Path t1 = bundle("t1.tar.zst", new TarBuilder(Compression.ZSTD).file("lib/a.py", "tier1").file("lib/b.py", "tier1"));
        Path t2 = bundle("t2.tar.gz", new TarBuilder(Compression.GZIP).file("lib/b.py", "tier2"));
        Path dest = tmp.resolve("dest");
        Cli r = Cli.run("bcast", "-t", "-p", dest.toString(), t1.toString(), t2.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.readString(dest.resolve("lib/a.py"))).isEqualTo("tier1");
        assertThat(Files.readString(dest.resolve("lib/b.py"))).isEqualTo("tier2");
        assertThat(r.out()).contains("read s", "bcast s", "unpack s", "total s", "t1.tar.zst", "t2.tar.gz");
    }

    @Test
    void aBundleAlreadyUnpackedIsSkippedUnlessALaterOneChangedItsFiles() throws IOException {
        Path t1 = bundle("t1.tar", new TarBuilder().file("x", "one"));
        Path t2 = bundle("t2.tar", new TarBuilder().file("x", "two"));
        Path dest = tmp.resolve("dest");
        assertThat(Cli.run("bcast", "-p", dest.toString(), t1.toString(), t2.toString()).exit()).isZero();
        Cli again = Cli.run("bcast", "-v", "-p", dest.toString(), t1.toString(), t2.toString());
        assertThat(again.err()).contains("t1.tar: already unpacked", "t2.tar: already unpacked");
        // t1 alone after t2: skipping it would leave t2's x, so it is unpacked again
        Cli alone = Cli.run("bcast", "-v", "-p", dest.toString(), t1.toString());
        assertThat(alone.err()).doesNotContain("already unpacked");
        assertThat(Files.readString(dest.resolve("x"))).isEqualTo("one");
    }

    @Test
    void missingBundleNamesItAndExitsWithTheBundleCode() {
        Path dest = tmp.resolve("dest");
        Cli r = Cli.run("bcast", "-p", dest.toString(), tmp.resolve("nope.tar.zst").toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("nope.tar.zst", "does not exist", "rank 0");
    }

    @Test
    void corruptBundleLeavesNoCompletionMarkerAndIsUnpackedAgainNextTime() throws IOException {
        byte[] good = new TarBuilder(Compression.ZSTD).file("big", "z".repeat(200_000)).file("small", "s").bytes();
        Path bad = tmp.resolve("bad.tar.zst");
        Files.write(bad, Arrays.copyOf(good, good.length - 40));
        Path dest = tmp.resolve("dest");
        Cli r = Cli.run("bcast", "-p", dest.toString(), bad.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err()).contains("bad.tar.zst", "truncated");
        assertThat(dest.resolve(".nodecast/incomplete")).content().contains("bad.tar.zst");
        assertThat(dest.resolve(".nodecast/ledger")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyFile());

        Files.write(bad, good);
        Cli fixed = Cli.run("bcast", "-p", dest.toString(), bad.toString());
        assertThat(fixed.exit()).as(fixed.err()).isZero();
        assertThat(Files.readString(dest.resolve("small"))).isEqualTo("s");
        assertThat(dest.resolve(".nodecast/incomplete")).doesNotExist();
    }

    @Test
    void aBundleThatNoLongerMatchesItsChecksumFileIsRefused() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("app"));
        Files.writeString(src.resolve("main.py"), "print('hi')\n");
        Path b = tmp.resolve("app.tar.zst");
        assertThat(Cli.run("bundle", "dir", src.toString(), "-o", b.toString(), "--pyc", "keep").exit()).isZero();
        byte[] data = Files.readAllBytes(b);
        data[data.length / 2] ^= 0x40;
        Files.write(b, data);
        Files.setLastModifiedTime(Checksums.sidecar(b), Files.getLastModifiedTime(b));
        Path dest = tmp.resolve("dest");
        Cli r = Cli.run("bcast", "-p", dest.toString(), b.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err()).contains("app.tar.zst");
        assertThat(dest.resolve(".nodecast/incomplete")).exists();
    }

    @Test
    void hostileBundleIsRefusedWithTheUnsafeCode() {
        Path evil = bundle("evil.tar", new TarBuilder().file("ok", "fine").symlink("esc", "/etc").file("esc/passwd", "owned"));
        Cli r = Cli.run("bcast", "-p", tmp.resolve("dest").toString(), evil.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.UNSAFE.code());
        assertThat(r.err()).contains("evil.tar", "esc");
    }

    @Test
    void listFileAndComments() throws IOException {
        bundle("a.tar", new TarBuilder().file("a", "1"));
        bundle("b.tar", new TarBuilder().file("b", "2"));
        Path list = Files.writeString(tmp.resolve("bundles.txt"), "# tier 1\na.tar\n\n  b.tar  \n");
        Path dest = tmp.resolve("dest");
        Cli r = Cli.run("bcast", "-f", list.toString(), "-p", dest.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(dest.resolve("a")).hasContent("1");
        assertThat(dest.resolve("b")).hasContent("2");
    }

    @Test
    void unknownFlagIsAUsageError() {
        Cli r = Cli.run("bcast", "--frobnicate", "x.tar");
        assertThat(r.exit()).isEqualTo(ExitCode.USAGE.code());
        assertThat(r.err()).contains("--frobnicate");
    }

    @Test
    void reportFileIsJsonThatAJsonParserReadsBackWhateverThePathsHold() throws IOException {
        // a quote, a backslash and a tab: what a hand-written encoder gets wrong
        Path b = bundle("r \"q\" \\ \t.tar", new TarBuilder().file("f", "x"));
        Path report = tmp.resolve("report.json");
        assertThat(Cli.run("bcast", "--report", report.toString(), "-p", tmp.resolve("d").toString(), b.toString()).exit()).isZero();
        assertThat(readBack(report, "r['ok'], r['bundles'][0]['bundle'], r['bundles'][0]['files'], r['failures']"))
                .isEqualTo("[true, " + jsonString(b.toString()) + ", 1, []]");

        Path missing = tmp.resolve("gone \"x\".tar");
        assertThat(Cli.run("bcast", "--report", report.toString(), "-p", tmp.resolve("d").toString(), missing.toString()).exit())
                .isEqualTo(ExitCode.BUNDLE.code());
        String failure = readBack(report, "r['ok'], r['failures'][0]['exit_code'], r['failures'][0]['message']");
        assertThat(failure).startsWith("[false, " + ExitCode.BUNDLE.code() + ", ").contains(jsonString(missing.toString()).replaceAll("^\"|\"$", ""));
    }

    /** The report as Python's json module reads it, the expression printed back as JSON (ASCII-escaped). */
    private static String readBack(Path report, String expression) {
        Launcher.Result r = Launcher.exec(List.of("python3", "-c", "import json, sys; r = json.load(open(sys.argv[1], encoding='utf-8')); "
                + "print(json.dumps([" + expression + "]))", report.toString()), Map.of());
        assertThat(r.exit()).as("python3's json module reads the report: " + r.err()).isZero();
        return r.out().strip();
    }

    /** A string as Python's json.dumps writes it (ASCII only, so the comparison does not depend on the encoder). */
    private static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c == '\t') b.append("\\t");
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    @Test
    void mirrorRefusesAnOversizedTreeWithAdvice() throws IOException {
        Path app = Files.createDirectories(tmp.resolve("app/bin"));
        Files.write(app.resolve("data.bin"), new byte[300_000]);
        Cli r = Cli.run("mirror", "--max-size", "100K", "-p", tmp.resolve("dest").toString(), tmp.resolve("app").toString(), "bin");
        assertThat(r.exit()).isEqualTo(ExitCode.TOO_LARGE.code());
        assertThat(r.err()).contains("over the limit", "du -sh");
        Cli ok = Cli.run("mirror", "-p", tmp.resolve("dest").toString(), tmp.resolve("app").toString(), "bin");
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(tmp.resolve("dest/bin/data.bin")).hasSize(300_000);
        try (var s = Files.list(tmp.resolve("dest/.nodecast"))) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("mirror-")).toList()).isEmpty();
        }
    }
}
