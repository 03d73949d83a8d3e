package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.Hosts;
import io.nodecast.posix.Identity;
import io.nodecast.testing.Cli;
import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A node that cannot mount (no squashfuse, no FUSE device) fails with one line saying what is missing, or unpacks
 * with --mode auto, and is left with nothing mounted; and a user who is not root mounts, overwrites and purges.
 * The real launcher runs in a changed PATH, or in a private mount namespace where /dev/fuse is something else.
 */
@Tag("images")
class ImageFaultsTest {
    @TempDir Path tmp;
    Path dest;
    Path image;

    @BeforeAll
    static void buildTheLauncher() {
        Launcher.run(Map.of(), "--version");   // a stale jar is rebuilt now, not inside a test that counts stderr lines
    }

    @BeforeEach
    void setUp() throws IOException {
        Images.assumeFuse();
        dest = tmp.resolve("local");
        Path src = Files.createDirectories(tmp.resolve("src/lib"));
        Files.writeString(src.resolve("a.py"), "image");
        image = tmp.resolve("tier1.sqfs");
        Cli r = Cli.run("bundle", "dir", tmp.resolve("src").toString(), "-q", "--pyc", "keep", "-o", image.toString());
        assertThat(r.exit()).as(r.err()).isZero();
    }

    @AfterEach
    void detach() {
        Images.detachAll(tmp);
    }

    /** A PATH with every program of the system's bin directories but the ones named. */
    private Path pathWithout(String... left) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String d : List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
            if (!Files.isDirectory(Path.of(d))) continue;
            try (Stream<Path> s = Files.list(Path.of(d))) {
                for (Path p : s.toList()) {
                    String name = p.getFileName().toString();
                    if (List.of(left).contains(name) || Files.exists(bin.resolve(name), LinkOption.NOFOLLOW_LINKS)) continue;
                    Files.createSymbolicLink(bin.resolve(name), p);
                }
            }
        }
        return bin;
    }

    @Test
    void withoutSquashfuseTheNodeFailsSayingSoAndAutoUnpacksInstead() throws IOException {
        Map<String, String> env = Map.of("PATH", pathWithout("squashfuse", "squashfuse_ll").toString());
        Launcher.Result r = Launcher.run(env, "bcast", "-p", dest.toString(), image.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.TOOL.code());
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains(Hosts.localName(), "cannot mount " + image, "squashfuse_ll is not installed (Debian package squashfuse)",
                "with --mode auto it is unpacked instead");
        assertThat(Images.mountsUnder(tmp)).isEmpty();
        assertThat(ImageStack.storeOf(dest).resolve("images")).isEmptyDirectory();
        assertThat(dest.resolve(".nodecast/incomplete")).exists();

        Launcher.Result auto = Launcher.run(env, "bcast", "--mode", "auto", "-p", dest.toString(), image.toString());
        assertThat(auto.exit()).as(auto.err()).isZero();
        assertThat(dest.resolve("lib/a.py")).hasContent("image");
        assertThat(Images.mountsUnder(tmp)).isEmpty();
        assertThat(dest.resolve(".nodecast/incomplete")).doesNotExist();
    }

    @Test
    void withoutAFuseDeviceTheNodeFailsSayingSoAndAutoUnpacksInstead() throws Exception {
        assumeRoot();
        Path notADevice = Files.writeString(tmp.resolve("not-a-device"), "");
        // in a private mount namespace /dev/fuse is an empty file; what is mounted there is listed before it ends
        String script = """
                mount --bind "$1" /dev/fuse || exit 90
                "$2" bcast -p "$3" "$4" 2>"$5/strict.err"; echo "strict $?"
                findmnt -rn -o TARGET | grep -c "^$5" || true
                "$2" bcast --mode auto -p "$3" "$4" 2>"$5/auto.err"; echo "auto $?"
                findmnt -rn -o TARGET | grep -c "^$5" || true
                """;
        Launcher.Result r = Launcher.exec(List.of("unshare", "-m", "--propagation", "private", "bash", "-c", script, "bash",
                notADevice.toString(), Launcher.nodecast().toString(), dest.toString(), image.toString(), tmp.toString()), Map.of());
        assertThat(r.out().lines().toList()).as(r.err()).containsExactly("strict " + ExitCode.TOOL.code(), "0", "auto 0", "0");
        String strict = Files.readString(tmp.resolve("strict.err"));
        assertThat(strict.strip().lines()).hasSize(1);
        assertThat(strict).contains(Hosts.localName(), "/dev/fuse is not a character device");
        assertThat(dest.resolve("lib/a.py")).hasContent("image");
    }

    @Test
    void aUserWhoIsNotRootMountsOverwritesAndPurges() throws Exception {
        assumeRoot();
        assumeTrue(Tools.find("fusermount3").isPresent(), "fusermount3");
        // a user's own directory, and a FUSE device open to all (as on most clusters) in a private namespace only
        Path home = Files.createTempDirectory(Path.of("/tmp"), "nodecast-user");
        try {
            Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.copy(image, home.resolve("tier1.sqfs"));
            Files.copy(tmp.resolve("tier1.sqfs.sha256"), home.resolve("tier1.sqfs.sha256"));
            Path src = Files.createDirectories(home.resolve("src2/lib"));
            Files.writeString(src.resolve("a.py"), "tier2");
            Cli t2 = Cli.run("bundle", "dir", home.resolve("src2").toString(), "-q", "--pyc", "keep", "-o", home.resolve("tier2.tar").toString());
            assertThat(t2.exit()).isZero();
            Launcher.exec(List.of("chown", "-R", "65534:65534", home.toString()), Map.of());
            Path dev = home.resolve("fuse");
            assertThat(Launcher.exec(List.of("mknod", "-m", "666", dev.toString(), "c", "10", "229"), Map.of()).exit()).isZero();
            Path userDest = home.resolve("local");
            String script = """
                    mount --bind "$1" /dev/fuse || exit 90
                    H=$2
                    as() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$H" "$@"; }
                    as "$3" bcast -p "$4" "$H/tier1.sqfs" "$H/tier2.tar"; echo "bcast $?"
                    findmnt -rn -o TARGET,FSTYPE,OPTIONS | grep "^$H" | grep -c "user_id=65534" || true
                    as cat "$4/lib/a.py"; echo
                    as stat -c '%u %a' "$4"
                    as "$3" purge -p "$4"; echo "purge $?"
                    findmnt -rn -o TARGET | grep -c "^$H" || true
                    """;
            Launcher.Result r = Launcher.exec(List.of("unshare", "-m", "--propagation", "private", "bash", "-c", script, "bash",
                    dev.toString(), home.toString(), Launcher.nodecast().toString(), userDest.toString()), Map.of());
            assertThat(r.out().lines().toList()).as(r.err()).containsExactly("bcast 0", "2", "tier2", "65534 700", "purge 0", "0");
            assertThat(userDest).doesNotExist();
            assertThat(ImageStack.storeOf(userDest)).doesNotExist();
        } finally {
            FileTrees.delete(home);
        }
    }

    private static void assumeRoot() {
        assumeTrue(Identity.current().root(), "needs root for a private mount namespace");
    }
}
