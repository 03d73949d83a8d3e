package io.nodecast.relocate;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Cli;
import io.nodecast.testing.TarBuilder;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** A bundle whose relocation fails on a node is not marked complete there, and the message names the file. */
class RelocationFailureTest {
    @TempDir Path tmp;

    private static String list(String... records) {
        return "nodecast-bundle 1\nmap /opt/orig .\n" + String.join("\n", records) + "\n";
    }

    @Test
    void aListedFileThatIsALinkFailsTheBundleAndNothingIsMarkedComplete() {
        Path b = new TarBuilder().file(".nodecast-bundle", list("text lib/x.pc"))
                .dir("lib", 0755).file("lib/y.pc", "prefix=/opt/orig\n").symlink("lib/x.pc", "y.pc").writeTo(tmp.resolve("b.tar"));
        Path dest = tmp.resolve("d");
        Cli r = Cli.run("bcast", "-p", dest.toString(), b.toString());
        assertThat(r.exit()).as("the bundle names a link to rewrite: refused like an unsafe member").isEqualTo(ExitCode.UNSAFE.code());
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("b.tar", "'lib/x.pc'", "symbolic link");
        assertThat(dest.resolve(".nodecast/incomplete")).exists();
        assertThat(dest.resolve(".nodecast/ledger")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyFile());
        assertThat(dest.resolve("lib/y.pc")).hasContent("prefix=/opt/orig");
    }

    /** Relocated as it was written, then replaced later in the stream by a link: relocation looks at it again, and refuses. */
    @Test
    void aListedFileReplacedByALinkLaterInTheStreamIsRefusedAsALink() {
        Path b = new TarBuilder().file(".nodecast-bundle", list("text lib/x.pc")).dir("lib", 0755)
                .file("lib/x.pc", "prefix=/opt/orig\n").file("lib/y.pc", "prefix=/opt/orig\n").symlink("lib/x.pc", "y.pc")
                .writeTo(tmp.resolve("b.tar"));
        Path dest = tmp.resolve("d");
        Cli r = Cli.run("bcast", "-p", dest.toString(), b.toString());
        assertThat(r.exit()).as(r.err()).isEqualTo(ExitCode.UNSAFE.code());
        assertThat(r.err()).contains("b.tar", "'lib/x.pc'", "symbolic link");
        assertThat(dest.resolve(".nodecast/incomplete")).exists();
    }

    @Test
    void aListThatNamesAFileTheBundleDoesNotHoldFailsIt() {
        Path b = new TarBuilder().file(".nodecast-bundle", list("text lib/x.pc")).dir("lib", 0755).writeTo(tmp.resolve("b.tar"));
        Cli r = Cli.run("bcast", "-p", tmp.resolve("d").toString(), b.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err()).contains("'lib/x.pc' is in the bundle's relocation list but was not unpacked");
    }

    @Test
    void aHostileListIsRefused() {
        Path b = new TarBuilder().file(".nodecast-bundle", list("text ../../etc/passwd")).writeTo(tmp.resolve("b.tar"));
        Cli r = Cli.run("bcast", "-p", tmp.resolve("d").toString(), b.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err()).contains("relocation list (.nodecast-bundle) line 3");
    }

    /** {@code bcast -v} of the bundle (written to b.tar) into {@code dest}, which must succeed; returns what it said. */
    private String delivered(TarBuilder bundle, Path dest) {
        Cli r = Cli.run("bcast", "-v", "-p", dest.toString(), bundle.writeTo(tmp.resolve("b.tar")).toString());
        assertThat(r.exit()).as(r.err()).isZero();
        return r.err();
    }

    @Test
    void aRelocatedBundleIsMarkedCompleteAndTheListDoesNotStayInDest() throws Exception {
        TarBuilder bundle = new TarBuilder().file(".nodecast-bundle", list("text lib/x.pc", "shebang bin/tool"))
                .dir("lib", 0755).file("lib/x.pc", "prefix=/opt/orig\n").dir("bin", 0555).file("bin/tool", "#!/opt/orig/bin/python\n", 0755);
        Path dest = tmp.resolve("d");
        assertThat(delivered(bundle, dest)).contains("b.tar: relocated to " + dest + ": 2 of the 2 files that name /opt/orig");
        assertThat(dest.resolve("lib/x.pc")).hasContent("prefix=" + dest);
        assertThat(dest.resolve("bin/tool")).hasContent("#!" + dest + "/bin/python");
        assertThat(dest.resolve(Manifest.ENTRY_NAME)).doesNotExist();
        assertThat(Files.readString(dest.resolve(".nodecast/ledger"))).contains("b.tar");
        // a second destination relocates the same bytes again
        Path second = tmp.resolve("second");
        assertThat(Cli.run("bcast", "-p", second.toString(), tmp.resolve("b.tar").toString()).exit()).isZero();
        assertThat(second.resolve("bin/tool")).hasContent("#!" + second + "/bin/python");
    }

    /**
     * One listed file relocated as it is written, one whose name is a hard link to a file the list does not name (so
     * the stream wrote no relocated copy of it): each is told apart by the file the name is, and both are relocated.
     */
    @Test
    void aListedFileTheStreamDidNotRelocateIsRelocatedFromDest() throws Exception {
        TarBuilder bundle = new TarBuilder().file(".nodecast-bundle", list("text lib/x.pc", "text lib/big.pc")).dir("lib", 0755)
                .file("lib/x.pc", "prefix=/opt/orig\n").file("lib/orig.pc", "prefix=/opt/orig/lib\n").hardlink("lib/big.pc", "lib/orig.pc");
        Path dest = tmp.resolve("d");
        assertThat(delivered(bundle, dest)).contains("b.tar: relocated to " + dest + ": 2 of the 2 files that name /opt/orig (1 as they were unpacked, ");
        assertThat(dest.resolve("lib/x.pc")).hasContent("prefix=" + dest);
        assertThat(dest.resolve("lib/big.pc")).hasContent("prefix=" + dest + "/lib");
        assertThat(dest.resolve("lib/orig.pc")).as("not listed: left as the bundle holds it").hasContent("prefix=/opt/orig/lib");
    }

    /** The same for a binary: patched from DEST into a new file beside it, its size kept, the unlisted name left alone. */
    @Test
    void aListedBinaryTheStreamDidNotRelocateIsPatchedFromDest() throws Exception {
        String origin = "/opt/" + "o".repeat(80);   // longer than DEST: a binary has room for the new path
        String binary = "\u007fELF\0" + origin + "/lib\0tail";
        TarBuilder bundle = new TarBuilder().file(".nodecast-bundle", "nodecast-bundle 1\nmap " + origin + " .\ncstring lib/big.so\n")
                .dir("lib", 0755).file("lib/orig.so", binary).hardlink("lib/big.so", "lib/orig.so");
        Path dest = tmp.resolve("d");
        assertThat(delivered(bundle, dest)).contains("relocated to " + dest + ": 1 of the 1 files that name " + origin + " (0 as they were unpacked, ");
        String patched = new String(Files.readAllBytes(dest.resolve("lib/big.so")), StandardCharsets.ISO_8859_1);
        assertThat(patched).hasSize(binary.length()).startsWith("\u007fELF\0" + dest + "/lib\0").endsWith("\0tail").doesNotContain(origin);
        assertThat(new String(Files.readAllBytes(dest.resolve("lib/orig.so")), StandardCharsets.ISO_8859_1)).isEqualTo(binary);
    }

    /** 600 KiB naming /opt/orig 38,400 times: relocated to a longer DEST, it no longer fits a 1 MiB tmpfs. */
    private static final String BIG = "prefix=/opt/orig\n".repeat(600 << 10 >> 4);

    /** bcast of {@code bundle} into a DEST on a 1 MiB tmpfs, which must fail for want of space, in one line. Needs root. */
    private Path fullDestination(TarBuilder bundle, String... said) throws Exception {
        Path mount = Files.createDirectories(tmp.resolve("small"));
        Trees.run(tmp, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.toString());
        try {
            Path b = bundle.writeTo(tmp.resolve("b.tar"));
            Path dest = mount.resolve("local");
            Cli r = Cli.run("bcast", "-p", dest.toString(), b.toString());
            assertThat(r.exit()).as(r.err()).isEqualTo(ExitCode.NO_SPACE.code());
            assertThat(r.err().strip().lines()).hasSize(1);
            assertThat(r.err()).contains(dest + " is full", "b.tar").contains(said);
            assertThat(dest.resolve(".nodecast/incomplete")).exists();
            assertThat(dest.resolve(".nodecast/ledger")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyFile());
            // what is left, copied out before the tmpfs goes
            Path left = Files.createDirectories(tmp.resolve("left"));
            Trees.run(tmp, "cp", "-a", dest.resolve("lib").toString(), left.toString());
            return left;
        } finally {
            Trees.run(tmp, "umount", mount.toString());
        }
    }

    /** The bundle fits, the listed file relocated as it is written does not. */
    @Test
    @Tag("root")
    void aFullDestinationWhileAListedFileIsRelocatedAsItIsWrittenIsNamedAndNothingIsMarkedComplete() throws Exception {
        fullDestination(new TarBuilder().file(".nodecast-bundle", list("text lib/big.pc")).dir("lib", 0755).file("lib/big.pc", BIG),
                "writing 'lib/big.pc'");
    }

    /**
     * The same from DEST: the listed name is a hard link to a file the list does not name, so the stream wrote no
     * relocated copy, and relocation afterwards writes one beside it, which does not fit.
     */
    @Test
    @Tag("root")
    void aFullDestinationDuringRelocationFromDestIsNamedAndLeavesTheOldFileAndNoMark() throws Exception {
        Path left = fullDestination(new TarBuilder().file(".nodecast-bundle", list("text lib/big.pc")).dir("lib", 0755)
                .file("lib/orig.pc", BIG).hardlink("lib/big.pc", "lib/orig.pc"), "relocating 'lib/big.pc'");
        assertThat(Files.readString(left.resolve("lib/big.pc"))).isEqualTo(BIG);
        try (var s = Files.list(left.resolve("lib"))) {
            assertThat(s.map(p -> p.getFileName().toString())).as("no temporary file left").containsExactlyInAnyOrder("big.pc", "orig.pc");
        }
    }
}
