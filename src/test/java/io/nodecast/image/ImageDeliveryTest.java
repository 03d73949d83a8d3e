package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Cli;
import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Images delivered by bcast on one node (the local transport; the same code every leader runs): mounted at DEST
 * under an overlay, overwritten by later bundles, skipped when present, refused when corrupt, unmounted by purge,
 * and recovered after their daemons were killed. Real squashfuse, fuse-overlayfs and kernel mounts.
 */
@Tag("images")
class ImageDeliveryTest {
    @TempDir Path tmp;
    Path dest;

    @BeforeEach
    void setUp() {
        Images.assumeFuse();
        dest = tmp.resolve("local");
    }

    @AfterEach
    void detach() {
        Images.detachAll(tmp);
    }

    /** A bundle of the files given as path, content pairs; its format from the name (.sqfs: an image). */
    Path bundle(String name, String... files) throws IOException {
        Path src = tmp.resolve("src-" + name);
        for (int i = 0; i < files.length; i += 2) {
            Path f = src.resolve(files[i]);
            Files.createDirectories(f.getParent());
            Files.writeString(f, files[i + 1]);
        }
        Cli r = Cli.run("bundle", "dir", src.toString(), "-q", "--pyc", "keep", "-o", tmp.resolve(name).toString());
        assertThat(r.exit()).as(r.err()).isZero();
        return tmp.resolve(name);
    }

    Cli bcast(String... args) {
        List<String> all = new ArrayList<>(List.of("bcast", "-p", dest.toString()));
        all.addAll(List.of(args));
        return Cli.run(all.toArray(String[]::new));
    }

    List<String> mountTypes() {
        return MountTable.under(tmp, tmp).stream().map(m -> m.point().getFileName() + " " + m.type()).sorted().toList();
    }

    Path store() {
        return ImageStack.storeOf(dest);
    }

    @Test
    void anImageIsMountedAtDestAndLaterBundlesOverwriteWhatItHolds() throws IOException {
        Path image = bundle("tier1.sqfs", "lib/a.py", "image", "lib/b.py", "image", "bin/tool", "image");
        Path tier2 = bundle("tier2.tar.zst", "lib/b.py", "tier2", "lib/c.py", "tier2");
        Cli r = bcast("-t", image.toString(), tier2.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("tier1.sqfs", "tier2.tar.zst");

        assertThat(dest.resolve("lib/a.py")).hasContent("image");
        assertThat(dest.resolve("lib/b.py")).hasContent("tier2");
        assertThat(dest.resolve("lib/c.py")).hasContent("tier2");
        // the image is mounted read-only in the store, under an overlay at DEST whose writable layer took tier 2
        assertThat(mountTypes()).containsExactly("1 fuse.squashfuse_ll", "local fuse.fuse-overlayfs");
        assertThat(store().resolve("upper/lib/b.py")).hasContent("tier2");
        assertThat(Files.list(store().resolve("images")).map(p -> p.getFileName().toString()).toList())
                .containsExactly(Files.readString(tmp.resolve("tier1.sqfs.sha256")).split(" ")[0] + ".sqfs");
        assertThat(Files.readAllLines(dest.resolve(".nodecast/ledger"))).hasSize(2);
        assertThat(dest.resolve(".nodecast/incomplete")).doesNotExist();
        assertThat((Integer) Files.getAttribute(store(), "unix:mode") & 0777).isEqualTo(0700);

        // a removal through DEST leaves the image as it was
        Files.delete(dest.resolve("bin/tool"));
        assertThat(dest.resolve("bin/tool")).doesNotExist();

        Cli purge = Cli.run("purge", "-p", dest.toString());
        assertThat(purge.exit()).as(purge.err()).isZero();
        assertThat(mountTypes()).isEmpty();
        assertThat(dest).doesNotExist();
        assertThat(store()).doesNotExist();
    }

    @Test
    void laterBundlesWinWhateverTheMixOfImagesAndTars() throws IOException {
        Path t1 = bundle("t1.tar", "x", "t1", "y", "t1", "z", "t1");
        Path i2 = bundle("i2.sqfs", "x", "i2", "y", "i2");
        Path t3 = bundle("t3.tar", "y", "t3");
        Path i4 = bundle("i4.sqfs", "y", "i4", "w", "i4");
        Path t5 = bundle("t5.tar", "w", "t5");
        Cli r = bcast(t1.toString(), i2.toString(), t3.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(List.of(read("x"), read("y"), read("z"))).containsExactly("i2", "t3", "t1");
        // a second image in a later step: what t3 wrote goes below it
        r = bcast(i4.toString(), t5.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(List.of(read("x"), read("y"), read("z"), read("w"))).containsExactly("i2", "i4", "t1", "t5");
        assertThat(mountTypes()).containsExactly("1 fuse.squashfuse_ll", "3 fuse.squashfuse_ll", "local fuse.fuse-overlayfs");
        assertThat(Files.readAllLines(dest.resolve(".nodecast/ledger")).stream().map(l -> Path.of(l.substring(l.lastIndexOf('\t') + 1)).getFileName().toString()))
                .containsExactly("t1.tar", "i2.sqfs", "t3.tar", "i4.sqfs", "t5.tar");
    }

    private String read(String rel) throws IOException {
        return Files.readString(dest.resolve(rel));
    }

    @Test
    void anImageAlreadyMountedIsNotSentAgainAndAfterThePurgeItIs() throws IOException {
        Path image = bundle("tier1.sqfs", "a", "image");
        assertThat(bcast(image.toString()).exit()).isZero();
        Cli again = bcast("-v", image.toString());
        assertThat(again.exit()).as(again.err()).isZero();
        assertThat(again.err()).contains("tier1.sqfs: already unpacked on all 1 node(s); not sent");
        assertThat(mountTypes()).hasSize(2);
        assertThat(Cli.run("purge", "-p", dest.toString()).exit()).isZero();
        Cli fresh = bcast("-v", image.toString());
        assertThat(fresh.err()).doesNotContain("already unpacked");
        assertThat(dest.resolve("a")).hasContent("image");
    }

    @Test
    void aCorruptImageIsRefusedBeforeItIsMountedAndLeavesNoMark() throws IOException {
        Path image = bundle("tier1.sqfs", "a", "image", "b", "x".repeat(100_000));
        byte[] bytes = Files.readAllBytes(image);
        bytes[bytes.length / 3] ^= 0x55;   // the sidecar still has the checksum of the image as it was made
        var made = Files.getLastModifiedTime(image);
        Files.write(image, bytes);
        Files.setLastModifiedTime(image, made);   // rot on the shared file system does not touch the time
        Cli r = bcast(image.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("tier1.sqfs does not match its checksum file");
        assertThat(mountTypes()).isEmpty();
        assertThat(dest.resolve(".nodecast/incomplete")).content().contains("tier1.sqfs");
        assertThat(Files.exists(dest.resolve(".nodecast/ledger")) ? Files.readString(dest.resolve(".nodecast/ledger")) : "").isEmpty();
        assertThat(store().resolve("images")).isEmptyDirectory();

        // no sidecar to check against: a truncated image is refused by its superblock
        Files.delete(tmp.resolve("tier1.sqfs.sha256"));
        byte[] noise = new byte[300_000];
        new java.util.Random(14).nextBytes(noise);
        Path good = bundle("good.sqfs", "a", "image", "b", java.util.Base64.getEncoder().encodeToString(noise));
        byte[] whole = Files.readAllBytes(good);
        Files.write(image, java.util.Arrays.copyOf(whole, whole.length / 2));
        Cli truncated = bcast(image.toString());
        assertThat(truncated.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(truncated.err()).contains("tier1.sqfs is not a usable squashfs image: it is truncated");
        assertThat(mountTypes()).isEmpty();
        assertThat(store().resolve("images")).isEmptyDirectory();
    }

    @Test
    void killedDaemonsLeaveNoMountThatBlocksTheNextDeliveryOrThePurge() throws Exception {
        Path image = bundle("tier1.sqfs", "lib/a.py", "image");
        Path tier2 = bundle("tier2.tar", "lib/b.py", "tier2");
        assertThat(bcast(image.toString(), tier2.toString()).exit()).isZero();
        List<Long> daemons = Images.daemonsOf(store());
        assertThat(daemons).hasSizeGreaterThanOrEqualTo(2);
        Images.kill(daemons);   // the job was killed: its FUSE daemons with it
        awaitDead(daemons);
        assertThat(ImageStack.alive(dest)).as("DEST is a dead mount").isFalse();

        Cli next = bcast("-v", image.toString(), tier2.toString());
        assertThat(next.exit()).as(next.err()).isZero();
        assertThat(next.err()).doesNotContain("already unpacked");
        assertThat(dest.resolve("lib/a.py")).hasContent("image");
        assertThat(dest.resolve("lib/b.py")).hasContent("tier2");
        assertThat(mountTypes()).containsExactly("1 fuse.squashfuse_ll", "local fuse.fuse-overlayfs");

        Images.kill(Images.daemonsOf(store()));
        Cli purge = Cli.run("purge", "-p", dest.toString());
        assertThat(purge.exit()).as(purge.err()).isZero();
        assertThat(mountTypes()).isEmpty();
        assertThat(dest).doesNotExist();
        assertThat(store()).doesNotExist();
    }

    private static void awaitDead(List<Long> pids) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline && pids.stream().anyMatch(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false))) {
            Thread.sleep(50);
        }
    }

    @Test
    void withModeUnpackAnImageIsUnpackedLikeATar() throws IOException {
        Path image = bundle("tier1.sqfs", "lib/a.py", "image", "bin/run", "#!/bin/sh\n");
        Cli r = bcast("--mode", "unpack", image.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(mountTypes()).isEmpty();
        assertThat(dest.resolve("lib/a.py")).hasContent("image");
        assertThat(Files.isRegularFile(dest.resolve("bin/run"), LinkOption.NOFOLLOW_LINKS)).isTrue();
        assertThat(store().resolve("images")).isEmptyDirectory();
        assertThat(Files.readAllLines(dest.resolve(".nodecast/ledger"))).hasSize(1);
    }

    @Test
    void withModeKernelRootMountsWithTheKernelsOwnFileSystems() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Mounter.KERNEL.missing().isEmpty(), "kernel mounts: " + Mounter.KERNEL.missing());
        Path image = bundle("tier1.sqfs", "lib/a.py", "image");
        Path tier2 = bundle("tier2.tar", "lib/a.py", "tier2");
        Cli r = bcast("--mode", "kernel", image.toString(), tier2.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(mountTypes()).containsExactly("1 squashfs", "local overlay");
        assertThat(dest.resolve("lib/a.py")).hasContent("tier2");
        // the two ways do not mix in one DEST
        Path other = bundle("other.sqfs", "o", "o");
        Cli mixed = bcast(other.toString());
        assertThat(mixed.exit()).isEqualTo(ExitCode.DESTINATION.code());
        assertThat(mixed.err()).contains("already has images mounted the kernel way", "purge it");
        assertThat(Cli.run("purge", "-p", dest.toString()).exit()).isZero();
        assertThat(mountTypes()).isEmpty();
        assertThat(Launcher.exec(List.of("losetup", "-j", ImageStack.storeOf(dest).toString()), Map.of()).out()).isBlank();
    }

    @Test
    void aDestInUseIsNotRestackedAndKeepsWhatItShows() throws Exception {
        Path i1 = bundle("i1.sqfs", "a", "one");
        Path i2 = bundle("i2.sqfs", "a", "two");
        assertThat(bcast(i1.toString()).exit()).isZero();
        Process busy = new ProcessBuilder("sleep", "60").directory(dest.toFile()).start();
        try {
            Cli r = bcast(i2.toString());
            assertThat(r.exit()).isEqualTo(ExitCode.DESTINATION.code());
            assertThat(r.err()).contains(dest + " is in use");
            assertThat(dest.resolve("a")).hasContent("one");
            assertThat(mountTypes()).containsExactly("1 fuse.squashfuse_ll", "local fuse.fuse-overlayfs");
        } finally {
            busy.destroyForcibly().waitFor();
        }
        Cli r = bcast(i2.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(dest.resolve("a")).hasContent("two");
    }

    @Test
    void theImageStoreOfSomeoneElseIsRefused() throws Exception {
        Path image = bundle("tier1.sqfs", "a", "image");
        Files.createDirectories(store());
        Files.setAttribute(store(), "unix:uid", 65534);
        Cli r = bcast(image.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.DESTINATION.code());
        assertThat(r.err()).contains("the image store " + store() + " belongs to uid 65534, not to you");
        assertThat(mountTypes()).isEmpty();
        try (Stream<Path> s = Files.list(store())) {
            assertThat(s.toList()).isEmpty();
        }
    }
}
