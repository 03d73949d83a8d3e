package io.nodecast.relocate;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RelocatorTest {
    static final String OLD = "/opt/shared/python-3.11";
    @TempDir Path tmp;

    private Manifest manifest(Manifest.Entry... files) {
        return new Manifest(List.of(new Manifest.Origin(OLD, "")), List.of(files));
    }

    private Path dest() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("d"));
        Files.createDirectories(d.resolve("bin"));
        Files.createDirectories(d.resolve("lib"));
        return d;
    }

    @Test
    void rewritesKeepingModeAndTimesAndReplacingTheInode() throws Exception {
        Path d = dest();
        Path pip = Files.writeString(d.resolve("bin/pip3"), "#!" + OLD + "/bin/python3.11\nimport pip\n");
        Files.setPosixFilePermissions(pip, PosixFilePermissions.fromString("r-xr-x---"));
        FileTime t = FileTime.fromMillis(1_600_000_000_000L);
        Files.setLastModifiedTime(pip, t);
        Path pc = Files.writeString(d.resolve("lib/python.pc"), "prefix=" + OLD + "\n");
        Object inode = Files.getAttribute(pip, "unix:ino");
        Relocator.Outcome o = Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.SHEBANG, "bin/pip3"),
                new Manifest.Entry(Manifest.Kind.TEXT, "lib/python.pc")), d, new NioDestFiles(d));
        assertThat(o.rewritten()).isEqualTo(2);
        assertThat(Files.readString(pip)).isEqualTo("#!" + d + "/bin/python3.11\nimport pip\n");
        assertThat(Files.readString(pc)).isEqualTo("prefix=" + d + "\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pip))).isEqualTo("r-xr-x---");
        assertThat(Files.getLastModifiedTime(pip)).isEqualTo(t);
        assertThat(Files.getAttribute(pip, "unix:ino")).as("a new file renamed over the old one").isNotEqualTo(inode);
        try (var s = Files.list(d.resolve("bin"))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("pip3");
        }
    }

    @Test
    void aRunningProgramsFileIsNotWrittenInto() throws Exception {
        Path d = dest();
        Path exe = d.resolve("bin/sleeper");
        Files.copy(Path.of("/bin/sleep"), exe);
        Process p = new ProcessBuilder(exe.toString(), "30").start();
        try {
            byte[] bin = Files.readAllBytes(exe);
            byte[] withPath = new byte[bin.length + OLD.length() + 1];
            System.arraycopy(bin, 0, withPath, 0, bin.length);
            System.arraycopy(OLD.getBytes(StandardCharsets.US_ASCII), 0, withPath, bin.length, OLD.length());
            // the running file is only renamed over, never opened for writing: no ETXTBSY
            new NioDestFiles(d).replace("bin/sleeper", withPath);
            // writing into a mapped executable fails with ETXTBSY; a rename over it does not
            Relocator.Outcome o = Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.TEXT, "bin/sleeper")), d, new NioDestFiles(d));
            assertThat(o.rewritten()).isEqualTo(1);
            assertThat(new String(Files.readAllBytes(exe), StandardCharsets.ISO_8859_1)).endsWith(d + "\0");
            assertThat(p.isAlive()).isTrue();
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    @Test
    void aReadOnlyDirectoryIsOpenedForTheRenameAndClosedAgain() throws Exception {
        Path d = dest();
        Path f = Files.writeString(d.resolve("lib/a.cfg"), "home = " + OLD + "/bin\n");
        Files.setPosixFilePermissions(d.resolve("lib"), PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.TEXT, "lib/a.cfg")), d, new NioDestFiles(d));
            assertThat(Files.readString(f)).isEqualTo("home = " + d + "/bin\n");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d.resolve("lib")))).isEqualTo("r-xr-xr-x");
        } finally {
            Files.setPosixFilePermissions(d.resolve("lib"), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void hardLinkedNamesAreEachRelocated() throws Exception {
        Path d = dest();
        Path a = Files.writeString(d.resolve("bin/python3.11-config"), "prefix=\"" + OLD + "\"\n");
        Files.createLink(d.resolve("bin/python3-config"), a);
        Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.TEXT, "bin/python3.11-config"),
                new Manifest.Entry(Manifest.Kind.TEXT, "bin/python3-config")), d, new NioDestFiles(d));
        assertThat(Files.readString(d.resolve("bin/python3-config"))).isEqualTo("prefix=\"" + d + "\"\n");
        assertThat(Files.readString(a)).isEqualTo("prefix=\"" + d + "\"\n");
    }

    @Test
    void aSymbolicLinkIsNeverFollowed() throws Exception {
        Path d = dest();
        Path outside = Files.writeString(tmp.resolve("outside.txt"), OLD);
        Files.createSymbolicLink(d.resolve("lib/evil.txt"), outside);
        Files.createSymbolicLink(d.resolve("up"), tmp);
        assertThatThrownBy(() -> Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.TEXT, "lib/evil.txt")), d, new NioDestFiles(d)))
                .isInstanceOf(NodecastException.class).hasMessageContaining("lib/evil.txt").hasMessageContaining("symbolic link");
        assertThatThrownBy(() -> Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.TEXT, "up/outside.txt")), d, new NioDestFiles(d)))
                .hasMessageContaining("symbolic link");
        assertThat(Files.readString(outside)).isEqualTo(OLD);
    }

    @Test
    void aListedFileThatIsMissingFailsTheBundle() throws Exception {
        Path d = dest();
        assertThatThrownBy(() -> Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.TEXT, "lib/gone.pc")), d, new NioDestFiles(d)))
                .isInstanceOf(NodecastException.class).hasMessageContaining("'lib/gone.pc'").hasMessageContaining("was not unpacked")
                .satisfies(e -> assertThat(((NodecastException) e).exitCode()).isEqualTo(ExitCode.BUNDLE));
    }

    @Test
    void anUnwritableFileFailsWithItsNameAndLeavesTheOldOne() throws Exception {
        Path d = dest();
        Path f = Files.writeString(d.resolve("lib/a.pc"), "prefix=" + OLD + "\n");
        DestFiles full = new DestFiles() {
            final NioDestFiles real = new NioDestFiles(d);

            @Override
            public byte[] read(String rel, int maxBytes) throws IOException {
                return real.read(rel, maxBytes);
            }

            @Override
            public void replace(String rel, byte[] content) throws IOException {
                throw new IOException("No space left on device");
            }

            @Override
            public Reader open(String rel) throws IOException {
                return real.open(rel);
            }

            @Override
            public void patch(String rel, List<Rewrite.Patch> patches) throws IOException {
                throw new IOException("No space left on device");
            }
        };
        assertThatThrownBy(() -> Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.TEXT, "lib/a.pc")), d, full))
                .isInstanceOf(NodecastException.class).hasMessageContaining("'lib/a.pc'").hasMessageContaining(d + " is full")
                .satisfies(e -> assertThat(((NodecastException) e).exitCode()).isEqualTo(ExitCode.NO_SPACE));
        assertThat(Files.readString(f)).isEqualTo("prefix=" + OLD + "\n");
    }

    @Test
    void anUnreadableFileFailsWithItsName() throws Exception {
        Path d = dest();
        Files.createDirectory(d.resolve("lib/dir.pc"));
        assertThatThrownBy(() -> Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.TEXT, "lib/dir.pc")), d, new NioDestFiles(d)))
                .hasMessageContaining("cannot read 'lib/dir.pc'").hasMessageContaining("not a regular file");
    }

    @Test
    void aBinaryThatCannotHoldTheNewPathIsNamedAndLeftAlone() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("a-destination-longer-than-the-original-prefix"));
        Files.createDirectories(d.resolve("lib"));
        byte[] bin = ("\u007fELF\0" + OLD + "/lib\0").getBytes(StandardCharsets.ISO_8859_1);
        Files.write(d.resolve("lib/libx.so"), bin);
        Relocator.Outcome o = Relocator.apply(manifest(new Manifest.Entry(Manifest.Kind.CSTRING, "lib/libx.so")), d, new NioDestFiles(d));
        assertThat(o.rewritten()).isZero();
        assertThat(o.notes()).hasSize(2).first().asString().startsWith("lib/libx.so: not relocated: ").contains("longer than the original");
        assertThat(o.notes().getLast()).startsWith("relocated to " + d + ": 0 of the 1 files that name " + OLD + " (");
        assertThat(Files.readAllBytes(d.resolve("lib/libx.so"))).isEqualTo(bin);
    }

    @Test
    void aBinaryRefusedInItsLastPieceIsLeftWholeThoughEarlierPiecesHadPathsToPatch() throws Exception {
        Path d = dest();
        String old = d + "12345";   // the new path is 5 bytes shorter: too few to keep a merged tail of 3
        byte[] fits = ("\0" + old + "/lib/python3.11\0").getBytes(StandardCharsets.ISO_8859_1);
        byte[] refused = ("\0" + old + "/ab\0").getBytes(StandardCharsets.ISO_8859_1);
        byte[] bin = new byte[3 * Relocator.PIECE];
        System.arraycopy(fits, 0, bin, 100, fits.length);
        System.arraycopy(fits, 0, bin, Relocator.PIECE - 4, fits.length);
        System.arraycopy(refused, 0, bin, 3 * Relocator.PIECE - 50, refused.length);
        Files.write(d.resolve("lib/libx.a"), bin);
        Manifest m = new Manifest(List.of(new Manifest.Origin(old, "")), List.of(new Manifest.Entry(Manifest.Kind.CSTRING, "lib/libx.a")));
        Relocator.Outcome o = Relocator.apply(m, d, new NioDestFiles(d));
        assertThat(o.rewritten()).isZero();
        assertThat(o.notes().getFirst()).startsWith("lib/libx.a: not relocated: a string ends 3 bytes after " + old);
        assertThat(Files.readAllBytes(d.resolve("lib/libx.a"))).as("not half patched").isEqualTo(bin);

        // the same file without the refused string: both paths patched, the one across the first piece's end too
        System.arraycopy(new byte[refused.length], 0, bin, 3 * Relocator.PIECE - 50, refused.length);
        Files.write(d.resolve("lib/libx.a"), bin);
        assertThat(Relocator.apply(m, d, new NioDestFiles(d)).rewritten()).isOne();
        String after = new String(Files.readAllBytes(d.resolve("lib/libx.a")), StandardCharsets.ISO_8859_1);
        assertThat(after).doesNotContain(old).hasSize(bin.length);
        assertThat(after.substring(Relocator.PIECE - 3)).startsWith("/////" + d + "/lib/python3.11\0");
        assertThat(after.substring(101)).startsWith("/////" + d + "/lib/python3.11\0");
    }

    @Test
    void noManifestMeansNoRelocationAndSaysSo() throws Exception {
        Path d = dest();
        Files.writeString(d.resolve("lib/a.pc"), "prefix=" + OLD + "\n");
        Relocator.Outcome o = Relocator.afterUnpack(Optional.empty(), d, new NioDestFiles(d));
        assertThat(o.rewritten()).isZero();
        assertThat(o.notes()).singleElement().asString().contains("GNU tar").contains("not relocated");
        assertThat(Files.readString(d.resolve("lib/a.pc"))).contains(OLD);
    }

    @Test
    void aSecondDestinationRelocatesFromTheSameBytes() throws Exception {
        byte[] manifest = manifest(new Manifest.Entry(Manifest.Kind.SHEBANG, "bin/tool")).encode();
        for (String name : List.of("first", "second-one")) {
            Path d = Files.createDirectories(tmp.resolve(name).resolve("bin"));
            Files.writeString(d.resolve("tool"), "#!" + OLD + "/bin/python\n");
            Relocator.afterUnpack(Optional.of(manifest), d.getParent(), new NioDestFiles(d.getParent()));
            assertThat(Files.readString(d.resolve("tool"))).isEqualTo("#!" + d.getParent() + "/bin/python\n");
        }
        assertThat(Files.isSymbolicLink(tmp.resolve("first/bin/tool"))).isFalse();
        assertThat(Files.exists(tmp.resolve("first/bin/tool"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    }
}
