package io.nodecast.cli;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Cli;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** A destination on a 1 MiB tmpfs: the full-/dev/shm case, for real. Needs root (CI runs as root). */
@Tag("root")
class FullDestinationTest {
    @TempDir Path tmp;
    Path mount;

    @BeforeEach
    void mountSmallTmpfs() throws Exception {
        mount = Files.createDirectories(tmp.resolve("small"));
        Trees.run(tmp, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.toString());
    }

    @AfterEach
    void unmount() throws Exception {
        Trees.run(tmp, "umount", mount.toString());
    }

    @Test
    void aReadOnlyDestinationIsRefusedWithoutWritingAnything() throws Exception {
        Trees.run(tmp, "mount", "-o", "remount,ro", mount.toString());
        Path b = new io.nodecast.testing.TarBuilder().file("x", "1").writeTo(tmp.resolve("b.tar"));
        Cli r = Cli.run("bcast", "-p", mount.resolve("local").toString(), b.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.DESTINATION.code());
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains(mount.resolve("local").toString(), "Read-only file system");
    }

    @Test
    void aBundleThatIsADirectoryIsNamed() {
        Cli r = Cli.run("bcast", "-p", mount.resolve("local").toString(), tmp.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err()).contains(tmp.toString(), "not a regular file");
    }

    @Test
    void aFullFileSystemIsNamedAndLeavesNoCompletionMarker() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/lib"));
        byte[] noise = new byte[3 << 20];
        new Random(1).nextBytes(noise);
        Files.write(src.resolve("blob.so"), noise);
        Path bundle = tmp.resolve("big.tar.zst");
        assertThat(Cli.run("bundle", "dir", tmp.resolve("src").toString(), "-o", bundle.toString()).exit()).isZero();

        Path dest = mount.resolve("local");
        Cli r = Cli.run("bcast", "-p", dest.toString(), bundle.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.NO_SPACE.code());
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains(dest.toString(), "is full", "lib/blob.so", "big.tar.zst");
        assertThat(dest.resolve(".nodecast/ledger")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyFile());
        assertThat(dest.resolve(".nodecast/incomplete")).exists();
    }
}
