package io.nodecast.bundle;

import io.nodecast.format.Compression;
import io.nodecast.testing.Trees;
import io.nodecast.unpack.Destination;
import io.nodecast.unpack.Extractor;
import io.nodecast.format.ChunkInputs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class BundleWriterTest {
    @TempDir Path tmp;
    Path src;

    @BeforeEach
    void tree() throws IOException {
        src = Files.createDirectories(tmp.resolve("src"));
        Files.createDirectories(src.resolve("lib/python3.11/site-packages/pkg/__pycache__"));
        Files.createDirectories(src.resolve("lib/python3.11/site-packages/pkg/tests/data"));
        Files.writeString(src.resolve("lib/python3.11/site-packages/pkg/__init__.py"), "x = 1\n");
        Files.writeString(src.resolve("lib/python3.11/site-packages/pkg/__pycache__/__init__.cpython-311.pyc"), "bytecode");
        Files.writeString(src.resolve("lib/python3.11/site-packages/pkg/logo.png"), "png");
        Files.writeString(src.resolve("lib/python3.11/site-packages/pkg/table.csv"), "kept: data outside tests");
        Files.writeString(src.resolve("lib/python3.11/site-packages/pkg/tests/data/big.npy"), "test data");
        Files.writeString(src.resolve("lib/python3.11/site-packages/pkg/tests/test_x.py"), "def test(): pass\n");
        String longDir = "d".repeat(110);
        Files.createDirectories(src.resolve("share").resolve(longDir));
        Files.writeString(src.resolve("share").resolve(longDir).resolve("f".repeat(140)), "long name");
        Files.createDirectories(src.resolve("bin"));
        Path exe = Files.writeString(src.resolve("bin/tool"), "#!/bin/sh\necho hi\n");
        Files.setAttribute(exe, "unix:mode", 04755);
        Files.setLastModifiedTime(exe, FileTime.fromMillis(1_500_000_000_000L));
        Files.createSymbolicLink(src.resolve("bin/tool-link"), Path.of("tool"));
        Files.createLink(src.resolve("bin/tool-hard"), exe);
        Path open = Files.writeString(src.resolve("bin/open"), "world-writable");
        Files.setAttribute(open, "unix:mode", 0666);
    }

    private BundleSummary write(Path out, Excludes ex, PycMode pyc) {
        return new BundleWriter(Compression.forFileName(out.toString()), 0, 2, n -> { })
                .write(new BundleSpec(src, List.of(), ex, pyc, false), out, Map.of());
    }

    private Path unpack(Path bundle) throws IOException {
        Path dest = tmp.resolve("dest-" + bundle.getFileName());
        new Extractor(Destination.prepare(dest.toString(), "h"), Extractor.Options.defaults())
                .extract(ChunkInputs.of(bundle, 1 << 16), bundle.toString());
        return dest;
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void roundTripKeepsLinksModesTimesAndLongNames(Compression c) throws IOException {
        Path bundle = tmp.resolve("b" + c.suffix());
        BundleSummary s = write(bundle, Excludes.none(), PycMode.KEEP);
        Path dest = unpack(bundle);
        Map<String, String> want = Trees.describe(src);
        want.put("bin/tool", want.get("bin/tool").replace("file 4755", "file 755"));
        want.put("bin/tool-hard", want.get("bin/tool-hard").replace("file 4755", "file 755"));
        want.put("bin/open", want.get("bin/open").replace("file 666", "file 664"));
        assertThat(Trees.describe(dest)).isEqualTo(want);
        assertThat(Files.getLastModifiedTime(dest.resolve("bin/tool")).toMillis()).isEqualTo(1_500_000_000_000L);
        assertThat(Files.getAttribute(dest.resolve("bin/tool-hard"), "unix:ino")).isEqualTo(Files.getAttribute(dest.resolve("bin/tool"), "unix:ino"));
        assertThat(s.links()).isEqualTo(2);
        assertThat(Checksums.sidecar(bundle)).exists();
        assertThat(Files.readString(Checksums.sidecar(bundle))).startsWith(s.sha256());
    }

    @Test
    void defaultExcludesDropImagesAndTestDataButKeepModulesAndOtherData() throws IOException {
        Path dest = unpack(tmpBundle(Excludes.of(true, List.of()), PycMode.KEEP));
        Path pkg = dest.resolve("lib/python3.11/site-packages/pkg");
        assertThat(pkg.resolve("logo.png")).doesNotExist();
        assertThat(pkg.resolve("tests/data/big.npy")).doesNotExist();
        assertThat(pkg.resolve("tests/test_x.py")).exists();
        assertThat(pkg.resolve("table.csv")).exists();
        assertThat(pkg.resolve("__pycache__/__init__.cpython-311.pyc")).exists();
    }

    @Test
    void pycDropShipsNoBytecodeAndExtraExcludesApply() throws IOException {
        Path dest = unpack(tmpBundle(Excludes.of(false, List.of("*.csv", "share/**")), PycMode.DROP));
        Path pkg = dest.resolve("lib/python3.11/site-packages/pkg");
        assertThat(pkg.resolve("__pycache__")).doesNotExist();
        assertThat(pkg.resolve("table.csv")).doesNotExist();
        assertThat(pkg.resolve("logo.png")).exists();
        assertThat(pkg.resolve("__init__.py")).exists();
    }

    private Path tmpBundle(Excludes ex, PycMode pyc) {
        Path b = tmp.resolve("x" + System.nanoTime() + ".tar.zst");
        write(b, ex, pyc);
        return b;
    }

    @Test
    void gnuTarReadsOurBundlesAndWeReadGnuTars() throws Exception {
        Path ours = tmp.resolve("ours.tar.gz");
        write(ours, Excludes.none(), PycMode.KEEP);
        Path byTar = Files.createDirectories(tmp.resolve("by-gnu-tar"));
        Trees.run(byTar, "tar", "-xzf", ours.toString());
        assertThat(Trees.describe(byTar).keySet()).isEqualTo(Trees.describe(src).keySet());

        // the paper's tar-anaconda made .tar.gz bundles with GNU tar: they must unpack unchanged
        Path theirs = tmp.resolve("theirs.tar.gz");
        Trees.run(src, "tar", "-czf", theirs.toString(), "bin", "lib", "share");
        Path dest = unpack(theirs);
        assertThat(Trees.describe(dest).keySet()).isEqualTo(Trees.describe(src).keySet());
    }

    @Test
    void aFailedBuildLeavesNoBundleNorPartialFile() throws IOException {
        Path out = tmp.resolve("nope.tar.zst");
        BundleWriter w = new BundleWriter(Compression.ZSTD, 0, 1, n -> { });
        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                        w.write(new BundleSpec(tmp.resolve("no-such-root"), List.of(), Excludes.none(), PycMode.KEEP, false), out, Map.of()))
                .hasMessageContaining("no-such-root");
        // the output's file system fills up mid-write: /dev/full answers every write with ENOSPC
        Path full = tmp.resolve("full.tar.zst");
        Files.createSymbolicLink(tmp.resolve(".full.tar.zst.partial"), Path.of("/dev/full"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> write(full, Excludes.none(), PycMode.KEEP))
                .hasMessageContaining("full.tar.zst").hasMessageContaining("No space left on device");
        assertThat(out).doesNotExist();
        assertThat(full).doesNotExist();
        assertThat(Checksums.sidecar(full)).doesNotExist();
    }
}
