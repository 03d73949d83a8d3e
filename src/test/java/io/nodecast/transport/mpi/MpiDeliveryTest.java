package io.nodecast.transport.mpi;

import io.nodecast.format.Compression;
import io.nodecast.core.ExitCode;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.MpiRun;
import io.nodecast.testing.TarBuilder;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** bcast under real mpirun (Open MPI and MPICH), several ranks per simulated node, each node its own DEST. */
@Tag("mpi")
class MpiDeliveryTest {
    @TempDir Path tmp;

    private Path dest() {
        return tmp.resolve("nodes/%h");
    }

    private List<Path> nodeDirs() throws Exception {
        try (var s = Files.list(tmp.resolve("nodes"))) {
            return s.sorted().toList();
        }
    }

    @ParameterizedTest
    @EnumSource(MpiRun.class)
    void everyNodeGetsAnIdenticalTreeAndLaterBundlesWin(MpiRun mpi) throws Exception {
        Path t1 = new TarBuilder(Compression.ZSTD).dir("lib", 0755).file("lib/a.py", "a = 1\n").file("lib/b.py", "tier 1\n")
                .symlink("lib/c.py", "a.py").writeTo(tmp.resolve("t1.tar.zst"));
        byte[] big = new byte[5 << 20];
        new java.util.Random(7).nextBytes(big);
        Path blob = Files.write(tmp.resolve("blob.bin"), big);
        Path t2 = tmp.resolve("t2.tar.gz");
        Trees.run(tmp, "tar", "-czf", t2.toString(), "blob.bin");
        Files.writeString(tmp.resolve("b.py"), "tier 2\n");
        Path t3 = new TarBuilder().file("lib/b.py", "tier 2\n").writeTo(tmp.resolve("t3.tar"));
        Launcher.Result r = mpi.run(6, 3, "bcast", "-t", "--chunk-size", "1M", "-p", dest().toString(),
                t1.toString(), t2.toString(), t3.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("6 ranks on 3 nodes");
        List<Path> nodes = nodeDirs();
        assertThat(nodes).hasSize(3);
        Map<String, String> first = Trees.describe(nodes.getFirst());
        assertThat(first).containsKeys("lib/a.py", "lib/c.py", "blob.bin");
        for (Path n : nodes) {
            assertThat(Trees.describe(n)).as(n.toString()).isEqualTo(first);
            assertThat(n.resolve("lib/b.py")).hasContent("tier 2\n");
            assertThat(Files.readAllBytes(n.resolve("blob.bin"))).isEqualTo(Files.readAllBytes(blob));
        }
    }

    @ParameterizedTest
    @EnumSource(MpiRun.class)
    void aCorruptBundleFailsEveryRankAndNoNodeKeepsAMarker(MpiRun mpi) throws Exception {
        byte[] good = new TarBuilder(Compression.ZSTD).file("x", "y".repeat(300_000)).file("z", "z").bytes();
        Path bad = Files.write(tmp.resolve("bad.tar.zst"), Arrays.copyOf(good, good.length - 30));
        Launcher.Result r = mpi.run(4, 2, "bcast", "-p", dest().toString(), bad.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err()).contains("bad.tar.zst", "truncated", "-n0", "-n1");
        for (Path n : nodeDirs()) {
            assertThat(n.resolve(".nodecast/incomplete")).exists();
            assertThat(n.resolve(".nodecast/ledger")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyFile());
        }
    }

    @Tag("root")
    @Test
    void aFullDestinationOnOneNodeFailsTheJobNamingThatNode() throws Exception {
        Path node1 = Files.createDirectories(tmp.resolve("nodes/" + hostName() + "-n1"));
        Trees.run(tmp, "mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", node1.toString());
        try {
            byte[] noise = new byte[1 << 20];
            new java.util.Random(3).nextBytes(noise);
            Files.write(tmp.resolve("noise.bin"), noise);
            Path b = tmp.resolve("noise.tar");
            Trees.run(tmp, "tar", "-cf", b.toString(), "noise.bin");
            Launcher.Result r = MpiRun.OPEN_MPI.run(4, 2, "bcast", "-p", dest().toString(), b.toString());
            assertThat(r.exit()).isEqualTo(ExitCode.NO_SPACE.code());
            assertThat(r.err()).contains(hostName() + "-n1", "is full", "noise.bin").doesNotContain(hostName() + "-n0 (rank");
            assertThat(tmp.resolve("nodes/" + hostName() + "-n0/noise.bin")).hasSize(1 << 20);
        } finally {
            Trees.run(tmp, "umount", node1.toString());
        }
    }

    @Test
    void aMismatchedLibraryIsStoppedWithAClearError() {
        Path b = new TarBuilder().file("x", "1").writeTo(tmp.resolve("b.tar"));
        Launcher.Result r = MpiRun.OPEN_MPI.run(2, 1, "bcast", "--mpi-lib", "libmpich.so.12", "-p", dest().toString(), b.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("libmpich.so.12", "does not belong to this launcher");
    }

    /**
     * MPICH 4.0 over UCX: a rank alone on its host leaves without MPI_Finalize (it can hang there), so it tells
     * hydra itself; left out, hydra now and then reads the PMI socket's close as a crash and ends the job.
     */
    @Test
    void aRankThatLeavesWithoutFinalizeTellsHydraItHasFinished() {
        Path b = new TarBuilder().file("x", "1").writeTo(tmp.resolve("b.tar"));
        Launcher.Result r = Launcher.exec(List.of("mpirun.mpich", "-verbose", "-np", "1", Launcher.nodecast().toString(),
                "bcast", "--transport", "mpi", "-p", tmp.resolve("node").toString(), b.toString()), Map.of());
        assertThat(r.exit()).as(r.err()).isZero();
        String said = r.out() + r.err();
        assertThat(said).containsPattern("got pmi command \\(from \\d+\\): finalize").contains("PMI response: cmd=finalize_ack");
    }

    /** mpirun -np 1 has nobody to send to: the step runs as the local transport does, without MPI's start. */
    @ParameterizedTest
    @EnumSource(MpiRun.class)
    void aOneRankWorldUnpacksWithoutStartingMpiUnlessAsked(MpiRun mpi) throws Exception {
        Path b = new TarBuilder(Compression.ZSTD).dir("lib", 0755).file("lib/a.py", "a = 1\n").writeTo(tmp.resolve("b.tar.zst"));
        Launcher.Result alone = mpi.run(1, 1, "bcast", "-t", "-p", tmp.resolve("alone").toString(), b.toString());
        assertThat(alone.exit()).as(alone.err()).isZero();
        assertThat(alone.out()).contains("nodecast bcast: local (a one-rank MPI world: MPI not started), 1 ranks on 1 nodes");
        assertThat(tmp.resolve("alone/lib/a.py")).hasContent("a = 1\n");
        assertThat(tmp.resolve("alone/.nodecast/ledger")).isNotEmptyFile();

        Launcher.Result asked = mpi.run(1, 1, "bcast", "-t", "--transport", "mpi", "-p", tmp.resolve("asked").toString(), b.toString());
        assertThat(asked.exit()).as(asked.err()).isZero();
        assertThat(asked.out()).containsPattern("nodecast bcast: mpi \\(.*\\), 1 ranks on 1 nodes");
        assertThat(tmp.resolve("asked/lib/a.py")).hasContent("a = 1\n");
    }

    @Test
    void aRankKilledMidBroadcastEndsTheJobInsteadOfHanging() throws Exception {
        byte[] noise = new byte[160 << 20];
        new java.util.Random(5).nextBytes(noise);
        Files.write(tmp.resolve("big.bin"), noise);
        Path b = tmp.resolve("big.tar");
        Trees.run(tmp, "tar", "-cf", b.toString(), "big.bin");
        Path victimPid = tmp.resolve("victim.pid");
        // rank 3 kills itself once it is inside the broadcast: a slow pipe (--chunk-size 64K) keeps the stream going
        List<String> cmd = MpiRun.OPEN_MPI.command(4, 2, "bcast", "--chunk-size", "64K", "-p", dest().toString(), b.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("out.txt").toFile());
        long t0 = System.nanoTime();
        Process p = pb.start();
        // the victim dies inside the broadcast: once all four ranks run and the first bytes have landed on a node
        ProcessHandle victim = null;
        for (long end = System.nanoTime() + 60_000_000_000L; victim == null && System.nanoTime() < end && p.isAlive(); Thread.sleep(50)) {
            List<ProcessHandle> ranks = p.descendants().filter(h -> h.info().command().orElse("").endsWith("java")).toList();
            if (ranks.size() == 4 && receiving(tmp.resolve("nodes"))) victim = ranks.get(3);
        }
        if (victim == null) throw new AssertionError("the broadcast never had four ranks running while it streamed: "
                + Files.readString(tmp.resolve("out.txt")));
        Files.writeString(victimPid, String.valueOf(victim.pid()));
        Trees.run(tmp, "kill", "-9", String.valueOf(victim.pid()));
        boolean ended = p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS);
        if (!ended) p.destroyForcibly();
        assertThat(ended).as("the job ended within 120 s of the kill").isTrue();
        assertThat(p.exitValue()).isNotZero();
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(130);
    }

    @Test
    void aBundleLargerThanTwoGibibytesStreamsWithBoundedMemory() throws Exception {
        // a sparse 2.1 GiB file: GNU tar reads it as zeros, so the bundle on disk is really over 2^31 bytes
        Path big = tmp.resolve("big.bin");
        Trees.run(tmp, "truncate", "-s", "2200M", big.toString());
        Path b = tmp.resolve("big.tar");
        Trees.run(tmp, "tar", "-cf", b.toString(), "big.bin");
        Files.delete(big);
        assertThat(Files.size(b)).isGreaterThan(1L << 31);
        Path report = tmp.resolve("report.json");
        Launcher.Result r = Launcher.exec(MpiRun.MPICH.command(2, 2, "bcast", "--report", report.toString(),
                "-p", "/dev/shm/nodecast-big-test/%h", b.toString()), Map.of("NODECAST_JAVA_OPTS", "-Xmx256m"));
        try {
            assertThat(r.exit()).as(r.err()).isZero();
            try (var s = Files.list(Path.of("/dev/shm/nodecast-big-test"))) {
                for (Path n : s.toList()) assertThat(Files.size(n.resolve("big.bin"))).isEqualTo(2200L << 20);
            }
            assertThat(Files.readString(report)).contains("\"bytes\": " + Files.size(b));
        } finally {
            io.nodecast.core.FileTrees.delete(Path.of("/dev/shm/nodecast-big-test"));
        }
    }

    private static String hostName() {
        return io.nodecast.core.Hosts.localName();
    }

    /** Whether some node has started writing the bundle's file. */
    private static boolean receiving(Path nodes) throws IOException {
        if (!Files.isDirectory(nodes)) return false;
        try (var files = Files.walk(nodes)) {
            return files.anyMatch(f -> f.getFileName().toString().startsWith("big.bin") || f.toString().contains("big.bin"));
        } catch (java.io.UncheckedIOException e) {
            return false; // a directory vanished while walked: ask again
        }
    }
}
