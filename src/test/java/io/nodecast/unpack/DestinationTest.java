package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DestinationTest {
    @TempDir Path tmp;

    @Test
    void createsAPrivateDirectoryAndExpandsTheHostName() throws IOException {
        Destination d = Destination.prepare(tmp.resolve("nodes/%h/local").toString(), "n07");
        assertThat(d.root()).isEqualTo(tmp.resolve("nodes/n07/local"));
        assertThat((Integer) Files.getAttribute(d.root(), "unix:mode") & 0777).isEqualTo(0700);
        assertThat(d.root().resolve(Destination.META)).isDirectory();
    }

    @Test
    void refusesADirectoryOthersCanWrite() throws IOException {
        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertRefused(open, "writable by others");
    }

    @Test
    void refusesASymlink() throws IOException {
        Path real = Files.createDirectory(tmp.resolve("real"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        assertRefused(link, "symbolic link");
    }

    @Test
    void refusesADirectoryOwnedBySomeoneElse() throws IOException {
        Path theirs = Files.createDirectory(tmp.resolve("theirs"));
        Files.setPosixFilePermissions(theirs, PosixFilePermissions.fromString("rwx------"));
        int me = (Integer) Files.getAttribute(tmp, "unix:uid");
        Files.setAttribute(theirs, "unix:uid", me == 0 ? 65534 : 0);   // chown needs root: CI runs as root
        assertRefused(theirs, "owned by uid");
    }

    private void assertRefused(Path p, String why) {
        assertThatThrownBy(() -> Destination.prepare(p.toString(), "n1"))
                .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.DESTINATION))
                .hasMessageContaining(p.toString()).hasMessageContaining(why);
    }
}
