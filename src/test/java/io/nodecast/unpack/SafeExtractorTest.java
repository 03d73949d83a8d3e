package io.nodecast.unpack;

import io.nodecast.format.Compression;
import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.testing.TarBuilder;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafeExtractorTest {
    @TempDir Path tmp;
    Path dest;
    Path outside;

    @BeforeEach
    void setUp() throws IOException {
        dest = tmp.resolve("dest");
        outside = Files.createDirectories(tmp.resolve("outside"));
    }

    private UnpackSummary unpack(byte[] archive) {
        Destination d = Destination.prepare(dest.toString(), "testhost");
        return new SafeExtractor(d).extract(new ByteArrayInputStream(archive), "bundle.tar");
    }

    private List<Path> filesOutsideDest() throws IOException {
        try (Stream<Path> s = Files.walk(tmp)) {
            return s.filter(p -> !p.startsWith(dest) && !p.equals(tmp) && !p.equals(outside)).toList();
        }
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void unpacksEveryFormatToldByContent(Compression c) throws IOException {
        byte[] archive = new TarBuilder(c).dir("lib", 0755).file("lib/a.py", "print(1)\n").file("bin/run", "#!/bin/sh\n", 0755).bytes();
        UnpackSummary s = unpack(archive);
        assertThat(Files.readString(dest.resolve("lib/a.py"))).isEqualTo("print(1)\n");
        assertThat(Files.isExecutable(dest.resolve("bin/run"))).isTrue();
        assertThat(s.files()).isEqualTo(2);
    }

    @Test
    void destinationIsPrivateToTheUser() throws IOException {
        unpack(new TarBuilder().file("x", "1").bytes());
        assertThat((Integer) Files.getAttribute(dest, "unix:mode") & 0777).isEqualTo(0700);
    }

    @Test
    void dropsSetuidAndWorldWriteBits() throws IOException {
        unpack(new TarBuilder().file("suid", "x", 04777).bytes());
        assertThat((Integer) Files.getAttribute(dest.resolve("suid"), "unix:mode") & 07777).isEqualTo(0775);
    }

    @Test
    void keepsRelativeSymlinksAndHardLinksInside() throws IOException {
        unpack(new TarBuilder().dir("lib", 0755).file("lib/libx.so.1", "elf")
                .symlink("lib/libx.so", "libx.so.1").dir("bin", 0755).symlink("bin/lib", "../lib")
                .hardlink("lib/copy", "lib/libx.so.1").bytes());
        assertThat(Files.readSymbolicLink(dest.resolve("lib/libx.so"))).isEqualTo(Path.of("libx.so.1"));
        assertThat(Files.readString(dest.resolve("bin/lib/libx.so"))).isEqualTo("elf");
        assertThat(Files.getAttribute(dest.resolve("lib/copy"), "unix:ino"))
                .isEqualTo(Files.getAttribute(dest.resolve("lib/libx.so.1"), "unix:ino"));
    }

    @Test
    void refusesDotDot() throws IOException {
        assertUnsafe(new TarBuilder().file("../evil", "x").bytes(), "../evil");
        assertUnsafe(new TarBuilder().file("a/../../evil", "x").bytes(), "a/../../evil");
    }

    @Test
    void refusesAbsoluteNames() throws IOException {
        assertUnsafe(new TarBuilder().file(outside.resolve("abs").toString(), "x").bytes(), "absolute");
        assertThat(outside.resolve("abs")).doesNotExist();
    }

    @Test
    void refusesSymlinkLeavingAndWritingThroughIt() throws IOException {
        assertUnsafe(new TarBuilder().symlink("escape", outside.toString()).file("escape/inside.txt", "x").bytes(), "escape");
        assertThat(outside.resolve("inside.txt")).doesNotExist();
        assertUnsafe(new TarBuilder().symlink("up", "../outside").bytes(), "leaves the destination");
        assertUnsafe(new TarBuilder().dir("x", 0755).symlink("x/a", "..").symlink("y", "x/a/../..").bytes(), "climbs back");
    }

    @Test
    void refusesWritingThroughAnInsideSymlink() throws IOException {
        assertUnsafe(new TarBuilder().dir("real", 0755).symlink("alias", "real").file("alias/f", "x").bytes(), "through the symbolic link");
    }

    @Test
    void refusesHardLinksToOutside() throws IOException {
        assertUnsafe(new TarBuilder().hardlink("passwd", "/etc/passwd").bytes(), "absolute");
        assertUnsafe(new TarBuilder().hardlink("passwd", "../outside/x").bytes(), "..");
    }

    @Test
    void refusesDevicesAndFifos() throws IOException {
        assertUnsafe(new TarBuilder().special("dev/null", TarConstants.LF_CHR).bytes(), "device");
        assertUnsafe(new TarBuilder().special("dev/sda", TarConstants.LF_BLK).bytes(), "device");
        assertUnsafe(new TarBuilder().special("pipe", TarConstants.LF_FIFO).bytes(), "FIFO");
    }

    private void assertUnsafe(byte[] archive, String mentions) throws IOException {
        assertThatThrownBy(() -> unpack(archive))
                .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.UNSAFE))
                .hasMessageContaining("bundle.tar").hasMessageContaining(mentions);
        assertThat(filesOutsideDest()).isEmpty();
        try (Stream<Path> s = Files.list(outside)) {
            assertThat(s.toList()).isEmpty();
        }
    }

    @Test
    void laterBundlesOverwriteWhateverTheEntryTypes() throws IOException {
        unpack(new TarBuilder().dir("a", 0755).file("a/f", "dir-then-file").file("b", "file-then-dir")
                .symlink("c", "b").file("d", "old").dir("ro", 0555).file("ro/x", "old").bytes());
        unpack(new TarBuilder().file("a", "now a file").dir("b", 0755).file("b/inner", "now a dir")
                .file("c", "link replaced").file("d", "new").file("ro/x", "new").bytes());
        assertThat(Files.readString(dest.resolve("a"))).isEqualTo("now a file");
        assertThat(Files.readString(dest.resolve("b/inner"))).isEqualTo("now a dir");
        assertThat(Files.isSymbolicLink(dest.resolve("c"))).isFalse();
        assertThat(Files.readString(dest.resolve("c"))).isEqualTo("link replaced");
        assertThat(Files.readString(dest.resolve("d"))).isEqualTo("new");
        assertThat(Files.readString(dest.resolve("ro/x"))).isEqualTo("new");
        assertThat((Integer) Files.getAttribute(dest.resolve("ro"), "unix:mode") & 0777).isEqualTo(0555);
    }

    @Test
    void overwritingAHardLinkedFileLeavesItsTwinAlone() throws IOException {
        unpack(new TarBuilder().file("one", "shared").hardlink("two", "one").bytes());
        unpack(new TarBuilder().file("two", "changed").bytes());
        assertThat(Files.readString(dest.resolve("one"))).isEqualTo("shared");
        assertThat(Files.readString(dest.resolve("two"))).isEqualTo("changed");
    }

    @Test
    void truncatedArchiveIsReportedAsCorrupt() {
        byte[] full = new TarBuilder(Compression.ZSTD).file("big", "y".repeat(100_000)).file("after", "z").bytes();
        byte[] cut = Arrays.copyOf(full, full.length / 2);
        assertThatThrownBy(() -> unpack(cut))
                .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.BUNDLE))
                .hasMessageContaining("bundle.tar").hasMessageContaining("truncated or corrupt");
    }

    @Test
    void anEmptyArchiveIsABundleWithNothingInIt() throws IOException {
        UnpackSummary s = unpack(new byte[10240]);
        assertThat(s.files()).isZero();
        assertThat(dest).isDirectory();
    }

    @Test
    void somethingThatIsNotAnArchive() {
        assertThatThrownBy(() -> unpack("hello, this is not a tar file at all".getBytes()))
                .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.BUNDLE))
                .hasMessageContaining("not a bundle");
    }

    @Test
    void longNamesAndModesAndTimesSurvive() throws IOException {
        String longName = "pkg/" + "d".repeat(120) + "/" + "f".repeat(150) + ".py";
        unpack(new TarBuilder().file(longName, "long", 0640).bytes());
        Path p = dest.resolve(longName);
        assertThat(Files.readString(p)).isEqualTo("long");
        assertThat((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0777).isEqualTo(0640);
    }
}
