package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.format.ChunkInputs;
import io.nodecast.testing.RawTar;
import io.nodecast.testing.TarTrees;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * nodecast against GNU tar on archives nodecast did not write: the test archives of Go's archive/tar (Debian's
 * golang-1.19-src), archives GNU tar makes itself (sparse files in every format), and odd headers other tars write.
 * Where GNU tar unpacks, nodecast unpacks the same tree (same names, contents, links, modes as documented, times),
 * or refuses on purpose for a stated reason; where GNU tar fails, nodecast fails too, unless stated otherwise.
 */
class GnuTarParityTest {
    static final Path GO = Path.of("/usr/share/go-1.19/src/archive/tar/testdata");
    /** Modes compared: nodecast drops setuid, setgid, sticky and world-write bits (GNU tar as root keeps them). */
    static final int MODES = 0775;

    @TempDir Path tmp;

    enum Expect { SAME, SAME_THOUGH_GNU_COMPLAINS, BOTH_FAIL, REFUSED_ON_PURPOSE, SAME_AS_PYTHON }

    /** Go's archives whose outcome is not simply GNU tar's, and why. */
    static final Map<String, Expect> GO_EXCEPTIONS = Map.of(
            "hdr-only.tar", Expect.REFUSED_ON_PURPOSE,          // a FIFO and device files: never created
            "pax-nul-path.tar", Expect.REFUSED_ON_PURPOSE,      // a NUL inside a pax path: refused, not cut short
            "pax-nul-xattrs.tar", Expect.SAME_THOUGH_GNU_COMPLAINS, // xattrs are not restored, so their NUL is harmless
            "sparse-formats.tar", Expect.SAME_AS_PYTHON);       // GNU tar 1.34 stops with "Unexpected EOF" on it

    static Stream<String> goArchives() throws IOException {
        if (!Files.isDirectory(GO)) return Stream.of("(golang-1.19-src not installed)");
        try (Stream<Path> s = Files.list(GO)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tar")).sorted().toList().stream();
        }
    }

    @Tag("go-src")
    @ParameterizedTest(name = "{0}")
    @MethodSource("goArchives")
    void goArchiveTarTestData(String name) throws Exception {
        assumeThat(Files.isDirectory(GO)).as("Go's tar test archives: apt-get install golang-1.19-src").isTrue();
        Path archive = GO.resolve(name);
        Expect expect = GO_EXCEPTIONS.getOrDefault(name, null);
        compare(name, Files.readAllBytes(archive), expect);
    }

    static Stream<Object[]> oddHeaders() {
        List<Object[]> c = new ArrayList<>();
        c.add(new Object[] {"two GNU long names in a row: the last one counts", new RawTar()
                .gnuLong('L', "first-long-name".getBytes(StandardCharsets.US_ASCII))
                .gnuLong('L', "second-long-name".getBytes(StandardCharsets.US_ASCII))
                .header("x", '0').size(1).data(new byte[] {'1'}).bytes(), Expect.SAME});
        c.add(new Object[] {"a name that is not UTF-8", new RawTar().header(new byte[] {'n', (byte) 0xff, (byte) 0xfe, '.', 'p', 'y'}, '0')
                .size(2).data("ok".getBytes(StandardCharsets.US_ASCII)).bytes(), Expect.SAME});
        c.add(new Object[] {"a hard link whose size field is not zero", new RawTar().file("f", "abc")
                .header("h", '1').link("f").size(3).data("xyz".getBytes(StandardCharsets.US_ASCII))
                .file("g", "gg").bytes(), Expect.SAME_THOUGH_GNU_COMPLAINS});
        c.add(new Object[] {"a hard link whose size field is not zero, with no data", new RawTar().file("f", "abc")
                .header("h", '1').link("f").size(3).end().file("g", "gg").bytes(), Expect.SAME});
        c.add(new Object[] {"a symbolic link and a directory with sizes", new RawTar()
                .header("s", '2').link("target").size(3).data("xyz".getBytes(StandardCharsets.US_ASCII))
                .header("d/", '5').mode(0755).size(3).data("xyz".getBytes(StandardCharsets.US_ASCII))
                .file("g", "gg").bytes(), Expect.SAME_THOUGH_GNU_COMPLAINS});
        c.add(new Object[] {"a Solaris ACL entry before its file", new RawTar()
                .header("acl-file", 'A').size(12).data("user::rw-\n\0\0".getBytes(StandardCharsets.US_ASCII))
                .file("acl-file", "content").bytes(), Expect.SAME});
        c.add(new Object[] {"an unknown type, read as a file", new RawTar()
                .header("q", 'Q').size(2).data("qq".getBytes(StandardCharsets.US_ASCII)).bytes(), Expect.SAME});
        c.add(new Object[] {"an empty uid field", new RawTar().header("e", '0').raw(108, new byte[8])
                .size(1).data(new byte[] {'1'}).bytes(), Expect.SAME});
        c.add(new Object[] {"a v7 directory (no type, trailing slash)", new RawTar().header("v7dir/", '\0').mode(0755).end()
                .file("v7dir/f", "in").bytes(), Expect.SAME});
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("oddHeaders")
    void oddHeaders(String name, byte[] archive, Expect expect) throws Exception {
        compare(name, archive, expect);
    }

    /**
     * GNU tar writes sparse files in four formats; each must unpack to the same bytes, holes kept, whether writer
     * threads write the pieces or the parsing thread does (0 writers, the default on two cores).
     */
    @ParameterizedTest(name = "{0}, writers {1}")
    @MethodSource("sparseFormats")
    void sparseFilesInEveryFormatGnuTarWrites(String format, int writers) throws Exception {
        this.writers = writers;
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path f = src.resolve("sparse.bin");
        sh("truncate -s 1M " + f + " && printf 'head' | dd of=" + f + " conv=notrunc status=none"
                + " && printf 'middle' | dd of=" + f + " bs=1 seek=500000 conv=notrunc status=none"
                + " && printf 'tail' | dd of=" + f + " bs=1 seek=1048572 conv=notrunc status=none");
        Path archive = tmp.resolve("s.tar");
        sh("tar -C " + src + " --sparse " + format + " -cf " + archive + " sparse.bin");
        compare(format, Files.readAllBytes(archive), Expect.SAME);
        Path out = tmp.resolve("nodecast").resolve("sparse.bin");
        assertThat(Files.size(out)).isEqualTo(1 << 20);
        long blocks = Long.parseLong(sh("stat -c %b " + out).strip());
        assertThat(blocks * 512).as("holes stay holes").isLessThan(256 << 10);
    }

    static Stream<Arguments> sparseFormats() {
        return Stream.of("--format=gnu", "--format=posix --sparse-version=0.0", "--format=posix --sparse-version=0.1",
                "--format=posix --sparse-version=1.0", "--format=oldgnu")
                .flatMap(f -> Stream.of(0, 2).map(w -> Arguments.of(f, w)));
    }

    @ParameterizedTest(name = "writers {0}")
    @ValueSource(ints = {0, 2})
    void aSparseFileOverTwoGigabytes(int writers) throws Exception {
        this.writers = writers;
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path f = src.resolve("big.sparse");
        sh("truncate -s 2200M " + f + " && printf 'start' | dd of=" + f + " conv=notrunc status=none"
                + " && printf 'end!' | dd of=" + f + " bs=1M seek=2199 conv=notrunc status=none");
        Path archive = tmp.resolve("big.tar");
        sh("tar -C " + src + " --sparse --format=posix -cf " + archive + " big.sparse");
        assertThat(Files.size(archive)).isLessThan(1 << 20);
        Path dest = tmp.resolve("nodecast");
        UnpackSummary s = unpack(Files.readAllBytes(archive), dest);
        assertThat(s.files()).isEqualTo(1);
        Path out = dest.resolve("big.sparse");
        assertThat(Files.size(out)).isEqualTo(2200L << 20);
        assertThat(sh("cmp " + f + " " + out + " && echo same").strip()).isEqualTo("same");
    }

    // ---- comparison

    private void compare(String name, byte[] archive, Expect expect) throws Exception {
        Path tar = tmp.resolve("archive.tar");
        Files.write(tar, archive);
        Path gnu = Files.createDirectories(tmp.resolve("gnu"));
        Process p = new ProcessBuilder("tar", "-xf", tar.toString(), "-C", gnu.toString())
                .redirectErrorStream(true).start();
        String gnuOut = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int gnuExit = p.waitFor();
        if (expect == null) expect = gnuExit == 0 ? Expect.SAME : Expect.BOTH_FAIL;

        Path ours = tmp.resolve("nodecast");
        NodecastException refused = null;
        try {
            unpack(archive, ours);
        } catch (NodecastException e) {
            refused = e;
        }
        switch (expect) {
            case SAME, SAME_THOUGH_GNU_COMPLAINS -> {
                if (expect == Expect.SAME) assertThat(gnuExit).as("GNU tar on %s: %s", name, gnuOut).isZero();
                else assertThat(gnuExit).as("GNU tar complains about %s", name).isNotZero();
                assertThat(refused).as("nodecast on %s", name).isNull();
                assertThat(TarTrees.describe(ours, MODES, true)).as(name).isEqualTo(ownerCanEnter(TarTrees.describe(gnu, MODES, true)));
            }
            case BOTH_FAIL -> {
                assertThat(gnuExit).as("GNU tar on %s", name).isNotZero();
                assertThat(refused).as("nodecast must refuse %s, as GNU tar does (%s)", name, gnuOut).isNotNull();
                assertThat(refused.exitCode()).isIn(ExitCode.BUNDLE, ExitCode.UNSAFE);
            }
            case REFUSED_ON_PURPOSE -> {
                assertThat(refused).as("nodecast refuses %s on purpose", name).isNotNull();
                assertThat(refused.exitCode()).isIn(ExitCode.BUNDLE, ExitCode.UNSAFE);
            }
            case SAME_AS_PYTHON -> {
                assertThat(refused).as("nodecast on %s", name).isNull();
                Path py = Files.createDirectories(tmp.resolve("python"));
                sh("python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' " + tar + " " + py);
                assertThat(TarTrees.describe(ours, MODES, true)).as(name).isEqualTo(ownerCanEnter(TarTrees.describe(py, MODES, true)));
            }
        }
    }

    /** As documented, nodecast keeps u+rx on every directory, so that the user can always read and purge DEST. */
    private static Map<String, String> ownerCanEnter(Map<String, String> tree) {
        Map<String, String> out = new java.util.TreeMap<>();
        tree.forEach((k, v) -> {
            if (v.startsWith("d ")) v = "d " + Integer.toOctalString(Integer.parseInt(v.substring(2), 8) | 0500);
            out.put(k, v);
        });
        return out;
    }

    /** Writer threads for the next unpack; the sparse tests also run with none. */
    private int writers = 2;

    private UnpackSummary unpack(byte[] archive, Path dest) {
        return new Extractor(Destination.prepare(dest.toString(), "h"), new Extractor.Options(writers, 0, s -> { }, true))
                .extract(ChunkInputs.of(archive, 8192), "archive.tar");
    }

    static String sh(String cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new AssertionError(cmd + " failed: " + out);
        return out;
    }
}
