package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Cli;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bundle ... -o NAME.sqfs}: the same tree as the tar bundle of the same command, as DEST shows it. */
@Tag("images")
class ImageBundleTest {
    @TempDir Path tmp;

    @AfterEach
    void detach() {
        Images.detachAll(tmp);
    }

    private Path tree() throws IOException {
        Path src = tmp.resolve("app");
        Path pkg = Files.createDirectories(src.resolve("lib/python3.11/site-packages/pkg"));
        Files.writeString(pkg.resolve("__init__.py"), "VALUE = 42\n");
        Files.writeString(pkg.resolve("logo.png"), "excluded by default");
        Files.createDirectories(pkg.resolve("tests"));
        Files.writeString(pkg.resolve("tests/data.npy"), "excluded by default");
        Files.writeString(pkg.resolve("tests/test_x.py"), "kept\n");
        Path longName = pkg.resolve("d".repeat(90) + "/" + "f".repeat(60) + ".py");
        Files.createDirectories(longName.getParent());
        Files.writeString(longName, "LONG = 1\n");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.writeString(bin.resolve("tool"), "#!/bin/sh\necho tool\n");
        Files.setPosixFilePermissions(bin.resolve("tool"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        Files.createSymbolicLink(bin.resolve("tool-link"), Path.of("tool"));
        Files.createLink(bin.resolve("tool-hard"), bin.resolve("tool"));
        Files.setLastModifiedTime(pkg.resolve("__init__.py"), FileTime.fromMillis(1_600_000_000_000L));
        return src;
    }

    @Test
    void theImageHoldsWhatTheTarBundleHoldsTimesIncluded() throws Exception {
        Images.assumeFuse();
        Path src = tree();
        for (String name : List.of("app.tar.zst", "app.sqfs")) {
            Cli r = Cli.run("bundle", "dir", src.toString(), "--pyc", "compile", "--python", "python3", "-o", tmp.resolve(name).toString());
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).contains(tmp.resolve(name).toString());
        }
        // beside the image: the image and its checksum file, nothing left of the conversion
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.contains("sqfs")).sorted().toList())
                    .containsExactly("app.sqfs", "app.sqfs.sha256");
        }
        assertThat(Trees.run(tmp, "sha256sum", "-c", "app.sqfs.sha256")).contains("app.sqfs: OK");

        Path unpacked = tmp.resolve("from-tar");
        Path mounted = tmp.resolve("from-image");
        assertThat(Cli.run("bcast", "-p", unpacked.toString(), tmp.resolve("app.tar.zst").toString()).exit()).isZero();
        Cli m = Cli.run("bcast", "-p", mounted.toString(), tmp.resolve("app.sqfs").toString());
        assertThat(m.exit()).as(m.err()).isZero();
        assertThat(Images.mountsUnder(mounted)).containsExactly(mounted);

        Map<String, String> tar = Trees.describe(unpacked);
        assertThat(Trees.describe(mounted)).isEqualTo(tar);
        assertThat(tar).containsKeys("bin/tool-link", "lib/python3.11/site-packages/pkg/__pycache__/__init__.cpython-311.pyc",
                "lib/python3.11/site-packages/pkg/tests/test_x.py")
                .doesNotContainKeys("lib/python3.11/site-packages/pkg/logo.png", "lib/python3.11/site-packages/pkg/tests/data.npy");
        assertThat(tar.get("bin/tool")).startsWith("file 750");
        // the sources' times, which the bytecode is checked against (the bytecode itself was compiled by each build)
        assertThat(times(mounted)).isEqualTo(times(unpacked));
        Launcher.Result py = Launcher.exec(List.of("python3", "-c", "import pkg, sys; print(pkg.VALUE, pkg.__cached__)"),
                Map.of("PYTHONPATH", mounted.resolve("lib/python3.11/site-packages").toString(), "PYTHONDONTWRITEBYTECODE", "1"));
        assertThat(py.out()).as(py.err()).startsWith("42 ");
        assertThat(Cli.run("purge", "-p", mounted.toString()).exit()).isZero();
    }

    private static Map<String, Long> times(Path root) throws IOException {
        Map<String, Long> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                String rel = root.relativize(p).toString();
                if (!rel.startsWith(".nodecast") && !rel.endsWith(".pyc")) out.put(rel, Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis() / 1000);
            }
        }
        return out;
    }

    @Test
    void withoutTar2sqfsNothingThatLooksLikeABundleIsLeft() throws IOException {
        Path src = tree();
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String d : List.of("/usr/local/bin", "/usr/bin", "/bin")) {
            try (Stream<Path> s = Files.list(Path.of(d))) {
                for (Path p : s.toList()) {
                    String n = p.getFileName().toString();
                    if (!n.equals("tar2sqfs") && !Files.exists(bin.resolve(n), LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(bin.resolve(n), p);
                }
            }
        }
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        Launcher.Result r = Launcher.run(Map.of("PATH", bin.toString()), "bundle", "dir", src.toString(), "-q", "-o", out.resolve("app.sqfs").toString());
        assertThat(r.exit()).isEqualTo(ExitCode.TOOL.code());
        assertThat(r.err()).contains("tar2sqfs is not installed here (Debian package squashfs-tools-ng)");
        assertThat(out).isEmptyDirectory();
    }
}
