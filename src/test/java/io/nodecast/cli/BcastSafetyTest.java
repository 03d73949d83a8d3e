package io.nodecast.cli;

import io.nodecast.core.ExitCode;
import io.nodecast.format.Compression;
import io.nodecast.testing.Cli;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RawTar;
import io.nodecast.testing.TarBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What bcast guarantees around the extractor: where DEST may be, that the ledger is not the bundle's to write,
 * that one DEST takes one unpacking at a time, and that a failure of any kind, an Error included, is a failure:
 * one line, a non-zero exit, no completion mark.
 */
class BcastSafetyTest {
    @TempDir Path tmp;

    @Test
    void theRootTheHomeDirectoryAndTopLevelDirectoriesAreRefused() {
        Path bundle = new TarBuilder().file("x", "1").writeTo(tmp.resolve("b.tar"));
        for (String dest : new String[] {"/", System.getProperty("user.home"), "/usr", "/tmp/.."}) {
            Cli r = Cli.run("bcast", "-p", dest, bundle.toString());
            assertThat(r.exit()).as(dest + ": " + r.err()).isEqualTo(ExitCode.DESTINATION.code());
            assertThat(r.err()).contains("refusing to unpack into").doesNotContain("Exception");
            assertThat(r.err().strip().lines()).hasSize(1);
        }
        assertThat(Path.of(System.getProperty("user.home"), "x")).doesNotExist();
    }

    @Test
    void aDirectoryWithSomeoneElsesFilesNeedsForce() throws IOException {
        Path dest = Files.createDirectories(tmp.resolve("project"));
        Files.setAttribute(dest, "unix:mode", 0700);
        Files.writeString(dest.resolve("thesis.tex"), "years of work");
        Path bundle = new TarBuilder().file("thesis.tex", "overwritten").writeTo(tmp.resolve("b.tar"));
        Cli r = Cli.run("bcast", "-p", dest.toString(), bundle.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.DESTINATION.code());
        assertThat(r.err()).contains(dest.toString(), "--force");
        assertThat(Files.readString(dest.resolve("thesis.tex"))).isEqualTo("years of work");

        Cli forced = Cli.run("bcast", "--force", "-p", dest.toString(), bundle.toString());
        assertThat(forced.exit()).as(forced.err()).isZero();
        assertThat(Files.readString(dest.resolve("thesis.tex"))).isEqualTo("overwritten");
        // now it is a nodecast destination: no --force needed again
        assertThat(Cli.run("bcast", "-p", dest.toString(), bundle.toString()).exit()).isZero();
    }

    @Test
    void aBundleCannotPlantLedgerRecords() throws IOException {
        Path dest = tmp.resolve("dest");
        Path other = new TarBuilder().file("other", "never delivered").writeTo(tmp.resolve("other.tar"));
        String forged = "0\t1\t" + other.toRealPath() + ":0:x\tother.tar\n";
        Path evil = new RawTar().file(".nodecast/ledger", forged).writeTo(tmp.resolve("evil.tar"));
        Cli r = Cli.run("bcast", "-p", dest.toString(), evil.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.UNSAFE.code());
        assertThat(r.err()).contains("evil.tar", ".nodecast");
        Cli next = Cli.run("bcast", "-v", "-p", dest.toString(), other.toString());
        assertThat(next.exit()).isZero();
        assertThat(next.err()).doesNotContain("already unpacked");
        assertThat(Files.readString(dest.resolve("other"))).isEqualTo("never delivered");
    }

    @Test
    void aFailedBundleIsNotRecordedAndTheMessageIsOneBoundedLine() throws IOException {
        Path dest = tmp.resolve("dest");
        String huge = "x/".repeat(40_000) + "f";
        Path deep = new RawTar().pax('x', Map.of("path", huge)).header("p", '0').end().writeTo(tmp.resolve("deep.tar"));
        Cli r = Cli.run("bcast", "-p", dest.toString(), deep.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.UNSAFE.code());
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err().length()).isLessThan(1000);
        assertThat(r.err()).contains("deep.tar", "bytes)");
        assertThat(dest.resolve(".nodecast/ledger")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(),
                p -> assertThat(Files.readString(p)).doesNotContain("deep.tar"));
        assertThat(dest.resolve(".nodecast/incomplete")).content().contains("deep.tar");
    }

    @Test
    void aTinyBundleThatWouldFillTheNodeIsRefused() throws IOException {
        Path dest = tmp.resolve("dest");
        Path bomb = tmp.resolve("bomb.tar.zst");
        Files.write(bomb, new RawTar().header("zeros", '0').size(96L << 20).data(new byte[96 << 20]).bytes(Compression.ZSTD));
        Cli r = Cli.run("bcast", "--max-unpacked", "32M", "-p", dest.toString(), bomb.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err()).contains("bomb.tar.zst", "expands to more than");
        Cli ok = Cli.run("bcast", "--max-unpacked", "none", "-p", dest.toString(), bomb.toString());
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(Files.size(dest.resolve("zeros"))).isEqualTo(96L << 20);
    }

    @Test
    void aSecondBcastIntoTheSameDestinationWaitsForTheFirst() throws Exception {
        Path dest = tmp.resolve("dest");
        Path bundle = new TarBuilder().file("x", "1").writeTo(tmp.resolve("b.tar"));
        assertThat(Cli.run("bcast", "-p", dest.toString(), bundle.toString()).exit()).isZero();
        Path second = new TarBuilder().file("y", "2").writeTo(tmp.resolve("c.tar"));
        try (FileChannel ch = FileChannel.open(dest.resolve(".nodecast/lock"), StandardOpenOption.WRITE)) {
            FileLock held = ch.lock();
            ch.truncate(0).write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
            ProcessBuilder pb = new ProcessBuilder(Launcher.nodecast().toString(), "bcast", "-v", "-p", dest.toString(), second.toString());
            Path err = tmp.resolve("err.txt");
            pb.redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            Process p = pb.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.readString(err).contains("waiting for another nodecast") && System.nanoTime() < deadline) {
                assertThat(p.isAlive()).as("the second bcast ended instead of waiting: " + Files.readString(err)).isTrue();
                Thread.sleep(100);
            }
            assertThat(Files.readString(err)).contains("waiting for another nodecast", String.valueOf(ProcessHandle.current().pid()));
            Thread.sleep(1000);
            assertThat(p.isAlive()).as("still waiting").isTrue();
            assertThat(dest.resolve("y")).doesNotExist();
            held.release();
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
        }
        assertThat(dest.resolve("y")).content().isEqualTo("2");
    }

    @Test
    void anOutOfMemoryErrorWhileUnpackingIsAFailureNotASuccess() throws IOException {
        Path dest = tmp.resolve("dest");
        RawTar t = new RawTar();
        String big = "v".repeat(7 << 20);
        for (int i = 0; i < 6; i++) t.pax('x', Map.of("comment", big)).file("f" + i, "x");
        Path bundle = t.writeTo(tmp.resolve("heavy.tar"));
        Launcher.Result r = Launcher.run(Map.of("NODECAST_JAVA_OPTS", "-Xmx20m -XX:MaxDirectMemorySize=512m", "NODECAST_AOT", "0"),
                "bcast", "-p", dest.toString(), bundle.toString());
        assertThat(r.exit()).as(r.err()).isNotZero();
        assertThat(r.err()).contains("heavy.tar").doesNotContain("\tat ");
        assertThat(r.err().strip().lines().count()).isLessThanOrEqualTo(2);
        assertThat(dest.resolve(".nodecast/ledger")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(),
                p -> assertThat(Files.readString(p, StandardCharsets.UTF_8)).doesNotContain("heavy.tar"));
    }
}
