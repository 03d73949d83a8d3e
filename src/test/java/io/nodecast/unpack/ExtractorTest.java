package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.format.ChunkInputs;
import io.nodecast.format.Compression;
import io.nodecast.relocate.Manifest;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RawTar;
import io.nodecast.testing.TarBuilder;
import io.nodecast.testing.TarTrees;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ExtractorTest {
    @TempDir Path tmp;
    Sandbox box;

    @BeforeEach
    void setUp() throws IOException {
        box = new Sandbox(tmp);
    }

    private UnpackSummary unpack(byte[] archive) {
        return box.unpack(archive);
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void unpacksEveryFormatToldByContent(Compression c) throws IOException {
        byte[] archive = new TarBuilder(c).dir("lib", 0755).file("lib/a.py", "print(1)\n").file("bin/run", "#!/bin/sh\n", 0755).bytes();
        UnpackSummary s = unpack(archive);
        assertThat(Files.readString(box.dest.resolve("lib/a.py"))).isEqualTo("print(1)\n");
        assertThat(Files.isExecutable(box.dest.resolve("bin/run"))).isTrue();
        assertThat(s.files()).isEqualTo(2);
        assertThat(s.directories()).isEqualTo(1);
    }

    @Test
    void destinationIsPrivateToTheUser() throws IOException {
        unpack(new TarBuilder().file("x", "1").bytes());
        assertThat((Integer) Files.getAttribute(box.dest, "unix:mode") & 0777).isEqualTo(0700);
    }

    @Test
    void dropsSetuidSetgidStickyAndWorldWriteBits() throws IOException {
        unpack(new RawTar().header("suid", '0').mode(07777).end().header("d/", '5').mode(01777).end().bytes());
        assertThat((Integer) Files.getAttribute(box.dest.resolve("suid"), "unix:mode") & 07777).isEqualTo(0775);
        assertThat((Integer) Files.getAttribute(box.dest.resolve("d"), "unix:mode") & 07777).isEqualTo(0775);
    }

    @Test
    void modesAndTimesOfFilesDirectoriesAndLinksSurvive() throws IOException {
        String longName = "pkg/" + "d".repeat(120) + "/" + "f".repeat(150) + ".py";
        unpack(new RawTar().header("ro/", '5').mode(0555).mtime(1_400_000_000L).end()
                .header("ro/inside", '0').mode(0640).mtime(1_300_000_000L).size(2).data("in".getBytes())
                .header("link", '2').link("ro/inside").mtime(1_200_000_000L).end()
                .pax('x', java.util.Map.of("path", longName, "mtime", "1500000000.25"))
                .header("placeholder", '0').mode(0600).size(4).data("long".getBytes()).bytes());
        Path ro = box.dest.resolve("ro");
        assertThat((Integer) Files.getAttribute(ro, "unix:mode") & 0777).isEqualTo(0555);
        assertThat(Files.getLastModifiedTime(ro)).isEqualTo(FileTime.fromMillis(1_400_000_000_000L));
        assertThat(Files.getLastModifiedTime(ro.resolve("inside"))).isEqualTo(FileTime.fromMillis(1_300_000_000_000L));
        assertThat((Integer) Files.getAttribute(ro.resolve("inside"), "unix:mode") & 0777).isEqualTo(0640);
        assertThat(Files.getLastModifiedTime(box.dest.resolve("link"), LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(FileTime.fromMillis(1_200_000_000_000L));
        Path p = box.dest.resolve(longName);
        assertThat(Files.readString(p)).isEqualTo("long");
        assertThat(Files.getLastModifiedTime(p).toMillis()).isEqualTo(1_500_000_000_250L);
    }

    /**
     * Directories get their mode and time when the stream leaves them, not all at the end; a member that comes back
     * into one (an archive not in tree order), a relocated file renamed into one, a directory made in one by a deeper
     * name: each must still leave the member's own time. Every kind of return, by both ways of opening parents.
     */
    @ParameterizedTest(name = "openat2 {0}")
    @ValueSource(booleans = {true, false})
    void directoryTimesAreTheMembersWhereverTheStreamGoesBack(boolean openat2) throws IOException {
        byte[] list = new Manifest(List.of(new Manifest.Origin("/opt/py", ".")),
                List.of(new Manifest.Entry(Manifest.Kind.SHEBANG, "bin/tool"))).encode();
        long t = 1_100_000_000L;
        byte[] archive = new RawTar().file(Extractor.MANIFEST, new String(list, StandardCharsets.US_ASCII))
                .header("a/", '5').mode(0755).mtime(t + 1).end()
                .header("a/b/", '5').mode(0750).mtime(t + 2).end()
                .header("a/b/f", '0').size(1).data(new byte[] {'f'})
                .header("a/c/", '5').mode(0755).mtime(t + 3).end()
                .header("a/c/g", '0').size(1).data(new byte[] {'g'})
                .header("bin/", '5').mode(0755).mtime(t + 4).end()
                .header("bin/tool", '0').mode(0755).size(22).data("#!/opt/py/bin/python\n\n".getBytes(StandardCharsets.US_ASCII))
                .header("x/", '5').mode(0700).mtime(t + 5).end()
                .header("x/y", '0').size(1).data(new byte[] {'y'})
                .header("top", '0').size(1).data(new byte[] {'t'})               // in DEST itself: leaves x
                .header("x/again", '0').size(1).data(new byte[] {'x'})           // back into x, its neighbour's parent
                .header("z/", '5').mode(0755).mtime(t + 6).end()
                .header("a/b/late", '0').size(1).data(new byte[] {'l'})          // back into a/b, after a, a/c, x
                .header("a/c/deep/er/file", '0').size(1).data(new byte[] {'d'})  // a/c/deep made in a/c by a deeper name
                .header("a/link", '2').link("b/f").end()                        // a symbolic link made in a
                .header("z/hard", '1').link("a/b/f").end()                       // a hard link made in z, left before
                .header("z/", '5').mode(0755).mtime(t + 6).end()
                .header("z/then", '0').size(1).data(new byte[] {'z'})
                .bytes();
        box.unpack(archive, Containment.ALL, openat2, 0);
        for (var dir : List.of(List.of("a", t + 1, 0755), List.of("a/b", t + 2, 0750), List.of("a/c", t + 3, 0755),
                List.of("bin", t + 4, 0755), List.of("x", t + 5, 0700), List.of("z", t + 6, 0755))) {
            Path d = box.dest.resolve((String) dir.get(0));
            assertThat(Files.getLastModifiedTime(d).toMillis()).as("time of " + dir.get(0)).isEqualTo((Long) dir.get(1) * 1000);
            assertThat((Integer) Files.getAttribute(d, "unix:mode") & 0777).as("mode of " + dir.get(0)).isEqualTo(dir.get(2));
        }
        assertThat(Files.readString(box.dest.resolve("bin/tool"))).as("relocated").startsWith("#!" + box.dest);
        assertThat(Files.readString(box.dest.resolve("a/b/late"))).isEqualTo("l");
        assertThat(Files.readString(box.dest.resolve("a/c/deep/er/file"))).isEqualTo("d");
        assertThat(Files.readString(box.dest.resolve("z/hard"))).isEqualTo("f");
        assertThat(Files.readString(box.dest.resolve("x/again"))).isEqualTo("x");
    }

    /**
     * A directory whose mode or time cannot be set (here an immutable one already in DEST, which even root cannot
     * change) fails the bundle with the directory's name: set when the stream leaves it, the member being made then is
     * another; set at the end (one its owner cannot write into), no member is being made at all.
     */
    @ParameterizedTest(name = "mode {0}")
    @ValueSource(ints = {0755, 0555})
    void aDirectoryThatCannotBeFinishedIsNamed(int mode) throws Exception {
        unpack(new TarBuilder().dir("dir", 0755).bytes());   // DEST is nodecast's, from an earlier bundle
        Path d = box.dest.resolve("dir");
        org.junit.jupiter.api.Assumptions.assumeTrue(chattr("+i", d) == 0, "chattr +i: no immutable files here");
        try {
            byte[] archive = new RawTar().header("dir/", '5').mode(mode).mtime(1_100_000_000L).end()
                    .header("next", '0').size(1).data(new byte[] {'n'}).bytes();
            assertThatThrownBy(() -> unpack(archive))
                    .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.DESTINATION))
                    .hasMessageContaining("cannot write 'dir/' in ").hasMessageNotContaining("next").hasMessageContaining("Operation not permitted");
        } finally {
            chattr("-i", d);
        }
    }

    private static int chattr(String flag, Path p) {
        return Launcher.exec(List.of("chattr", flag, p.toString()), java.util.Map.of()).exit();
    }

    @Test
    void laterBundlesOverwriteWhateverTheEntryTypes() throws IOException {
        unpack(new TarBuilder().dir("a", 0755).file("a/f", "dir-then-file").file("b", "file-then-dir")
                .symlink("c", "b").file("d", "old").dir("ro", 0555).file("ro/x", "old").bytes());
        unpack(new TarBuilder().file("a", "now a file").dir("b", 0755).file("b/inner", "now a dir")
                .file("c", "link replaced").file("d", "new").file("ro/x", "new").bytes());
        assertThat(Files.readString(box.dest.resolve("a"))).isEqualTo("now a file");
        assertThat(Files.readString(box.dest.resolve("b/inner"))).isEqualTo("now a dir");
        assertThat(Files.isSymbolicLink(box.dest.resolve("c"))).isFalse();
        assertThat(Files.readString(box.dest.resolve("c"))).isEqualTo("link replaced");
        assertThat(Files.readString(box.dest.resolve("d"))).isEqualTo("new");
        assertThat(Files.readString(box.dest.resolve("ro/x"))).isEqualTo("new");
        assertThat((Integer) Files.getAttribute(box.dest.resolve("ro"), "unix:mode") & 0777).as("restored after").isEqualTo(0555);
    }

    @Test
    void aDirectoryReplacedByAFileKeepsTheFilesMode() throws IOException {
        unpack(new RawTar().header("m/", '5').mode(0711).end().header("m", '0').mode(0640).size(1).data(new byte[] {'x'}).bytes());
        assertThat((Integer) Files.getAttribute(box.dest.resolve("m"), "unix:mode") & 0777).isEqualTo(0640);
    }

    @Test
    void overwritingAHardLinkedFileLeavesItsTwinAlone() throws IOException {
        unpack(new TarBuilder().file("one", "shared").hardlink("two", "one").bytes());
        unpack(new TarBuilder().file("two", "changed").bytes());
        assertThat(Files.readString(box.dest.resolve("one"))).isEqualTo("shared");
        assertThat(Files.readString(box.dest.resolve("two"))).isEqualTo("changed");
    }

    @Test
    void aTruncatedBundleIsReportedAsSuch() {
        byte[] full = new TarBuilder(Compression.ZSTD).file("big", "y".repeat(100_000)).file("after", "z").bytes();
        byte[] cut = Arrays.copyOf(full, full.length / 2);
        assertThatThrownBy(() -> unpack(cut))
                .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.BUNDLE))
                .hasMessageContaining("bundle.tar").hasMessageContaining("truncated");
    }

    @Test
    void corruptCompressedDataIsReportedAsSuch() {
        byte[] good = new TarBuilder(Compression.ZSTD).file("big", "y".repeat(100_000)).bytes();
        byte[] bad = good.clone();
        for (int i = 40; i < bad.length - 8; i += 7) bad[i] ^= 0x55;
        assertThatThrownBy(() -> unpack(bad))
                .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.BUNDLE))
                .hasMessageContaining("corrupt");
    }

    @Test
    void anEmptyArchiveIsABundleWithNothingInIt() {
        UnpackSummary s = unpack(new byte[10240]);
        assertThat(s.files()).isZero();
        assertThat(box.dest).isDirectory();
    }

    @Test
    void somethingThatIsNotAnArchive() {
        assertThatThrownBy(() -> unpack("hello, this is not a tar file at all".getBytes()))
                .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.BUNDLE))
                .hasMessageContaining("not a bundle");
    }

    @Test
    void theManifestIsHandedOverNotWrittenAndItsFilesRelocated() throws IOException {
        byte[] list = new Manifest(List.of(new Manifest.Origin("/opt/py", ".")),
                List.of(new Manifest.Entry(Manifest.Kind.SHEBANG, "bin/tool"))).encode();
        UnpackSummary s = unpack(new RawTar().file(Extractor.MANIFEST, new String(list, StandardCharsets.US_ASCII))
                .file("bin/tool", "#!/opt/py/bin/python\nprint('/opt/py/lib')\n")
                .file(Extractor.MANIFEST, "a second one is just a file").bytes());
        assertThat(s.manifest()).isEqualTo(list);
        assertThat(Files.readString(box.dest.resolve(Extractor.MANIFEST))).isEqualTo("a second one is just a file");
        assertThat(Files.readString(box.dest.resolve("bin/tool")))
                .isEqualTo("#!" + box.dest + "/bin/python\nprint('" + box.dest + "/lib')\n");
        assertThat(s.files()).isEqualTo(2);
        assertThat(unpack(new RawTar().file("x", "1").bytes()).manifest()).isNull();
    }

    @Test
    void relocationNeverFollowsALinkOutOfDest() throws IOException {
        // the list names a file through a link already in DEST (however it got there): the kernel refuses to
        // resolve it, and nothing outside changes
        Files.writeString(box.outside.resolve("victim"), "#!/opt/py/bin/python\n");
        unpack(new RawTar().file("first", "a bundle before").bytes());
        Files.createSymbolicLink(box.dest.resolve("out"), box.outside);
        byte[] list = new Manifest(List.of(new Manifest.Origin("/opt/py", ".")),
                List.of(new Manifest.Entry(Manifest.Kind.SHEBANG, "out/victim"))).encode();
        byte[] tar = new RawTar().file(Extractor.MANIFEST, new String(list, StandardCharsets.US_ASCII))
                .file("bin/tool", "#!/opt/py/bin/python\n").bytes();
        NodecastException e = catchThrowableOfType(NodecastException.class, () -> unpack(tar));
        assertThat(e).as("relocating through a link must fail the bundle").isNotNull();
        assertThat(Files.readString(box.outside.resolve("victim"))).isEqualTo("#!/opt/py/bin/python\n");
        assertThat(e.getMessage()).as("the failure names the listed path").contains("out/victim");
    }

    @Test
    void aBundleOverTheExpansionLimitIsRefusedEarly() {
        byte[] bomb = new RawTar().header("zeros", '0').size(64L << 20).data(new byte[64 << 20]).bytes(Compression.ZSTD);
        assertThat(bomb.length).isLessThan(100_000);
        NodecastException e = catchThrowableOfType(NodecastException.class,
                () -> box.unpack(bomb, Containment.ALL, true, 8L << 20));
        assertThat(e.exitCode()).isEqualTo(ExitCode.BUNDLE);
        assertThat(e.getMessage()).contains("expands to more than", "--max-unpacked");
        assertThat(box.dest.resolve("zeros")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(),
                p -> assertThat(Files.size(p)).isLessThanOrEqualTo(9L << 20));
    }

    @ParameterizedTest(name = "{0} writer thread(s)")
    @ValueSource(ints = {0, 1, 2, 4, 8})
    void anyNumberOfWritersMakesTheSameTreeAsGnuTar(int writers) throws Exception {
        Random r = new Random(writers);
        RawTar t = new RawTar();
        for (int d = 0; d < 20; d++) {
            t.dir("d" + d);
            for (int f = 0; f < 40; f++) {
                byte[] data = new byte[r.nextInt(3) == 0 ? r.nextInt(3 << 20) : r.nextInt(5000)];
                r.nextBytes(data);
                t.header("d" + d + "/f" + f, '0').mode(0600 + (f % 2) * 0155).mtime(1_000_000_000L + f).size(data.length).data(data);
            }
            t.file("d" + d + "/f3", "overwritten in the same archive");
            t.hardlink("d" + d + "/h", "d" + d + "/f1");
            t.symlink("d" + d + "/s", "f2");
        }
        byte[] archive = t.bytes(Compression.ZSTD);
        Path gnu = Files.createDirectories(tmp.resolve("gnu"));
        Path file = Files.write(tmp.resolve("a.tar.zst"), archive);
        assertThat(new ProcessBuilder("tar", "--zstd", "-xf", file.toString(), "-C", gnu.toString()).inheritIO().start().waitFor()).isZero();
        Destination d = Destination.prepare(box.dest.toString(), "h");
        new Extractor(d, new Extractor.Options(writers, 0, s -> { }, true)).extract(ChunkInputs.of(archive, 1 << 16), "a");
        assertThat(TarTrees.describe(box.dest, 0777, true)).isEqualTo(TarTrees.describe(gnu, 0777, true));
    }

    /** 0 writers: the parsing thread writes the data itself, and closes each file whatever fails. */
    @ParameterizedTest(name = "writers {0}")
    @ValueSource(ints = {0, 4})
    void aFailingWriterFailsTheBundleAndLeavesNoOpenFiles(int writers) throws Exception {
        // a full file system is the writer's most common failure: a 1 MiB tmpfs needs root
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounts a tmpfs");
        Path small = Files.createDirectories(tmp.resolve("small"));
        Process m = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString()).inheritIO().start();
        try {
            assertThat(m.waitFor()).isZero();
            RawTar t = new RawTar();
            for (int i = 0; i < 40; i++) t.header("f" + i, '0').size(100_000).data(new byte[100_000]);
            byte[] archive = t.bytes();
            Destination d = Destination.prepare(small.resolve("dest").toString(), "h");
            long before = 0;
            for (int round = 0; round < 3; round++) {
                if (round == 1) before = openFiles();   // the first round loads what a JVM opens once
                NodecastException e = catchThrowableOfType(NodecastException.class, () -> new Extractor(d,
                        new Extractor.Options(writers, 0, s -> { }, true)).extract(ChunkInputs.of(archive, 1 << 16), "full.tar"));
                assertThat(e.exitCode()).isEqualTo(ExitCode.NO_SPACE);
                assertThat(e.getMessage()).contains("full.tar", "is full", "'f").doesNotContain("\n");
            }
            assertThat(openFiles()).as("descriptors left open").isLessThanOrEqualTo(before);
        } finally {
            new ProcessBuilder("umount", "-l", small.toString()).start().waitFor();
        }
    }

    private static long openFiles() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    void theOlderKernelsWalkUnpacksTheSameTree() throws Exception {
        byte[] archive = new TarBuilder().dir("a", 0755).file("a/b/c/d.txt", "deep").symlink("a/l", "b")
                .hardlink("a/h", "a/b/c/d.txt").file("top", "t").bytes();
        box.unpack(archive, Containment.ALL, false, 0);
        var walked = TarTrees.describe(box.dest, 0777, true);
        Sandbox other = new Sandbox(Files.createDirectories(tmp.resolve("other")));
        other.unpack(archive, Containment.ALL, true, 0);
        assertThat(TarTrees.describe(other.dest, 0777, true)).isEqualTo(walked);
        assertThat(walked).containsKeys("a/b/c/d.txt", "a/l", "a/h", "top");
        assertThat(List.copyOf(walked.keySet())).hasSize(7);
    }
}
