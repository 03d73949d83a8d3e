package io.nodecast.transport.mpi;

import io.nodecast.core.Hosts;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.MpiRun;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * nodecast's own broadcast under real mpirun, with simulated nodes on this machine (each its own DEST): every shape
 * delivers the same bytes everywhere, only the nodes that lack a bundle take part, a stopped leader mid-chain ends
 * the step with its name.
 */
@Tag("mpi")
class PipelinedBroadcastTest {
    @TempDir Path tmp;

    private Path dest() {
        return tmp.resolve("nodes/%h");
    }

    private Path node(int i) {
        return tmp.resolve("nodes/" + Hosts.localName() + "-n" + i);
    }

    private Path blobBundle(int mib) throws Exception {
        byte[] noise = new byte[mib << 20];
        new Random(11).nextBytes(noise);
        Files.write(tmp.resolve("blob.bin"), noise);
        Path b = tmp.resolve("blob.tar");
        Trees.run(tmp, "tar", "-cf", b.toString(), "blob.bin");
        return b;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"OPEN_MPI, chain", "OPEN_MPI, tree", "OPEN_MPI, ibcast", "MPICH, tree"})
    void everyShapeDeliversTheSameBytesToEveryNode(MpiRun mpi, String algorithm) throws Exception {
        Path b = blobBundle(3);
        // 256 KiB chunks: a dozen segments, so the pipeline really forwards while it receives; 5 nodes: depth 2 as a tree
        Launcher.Result r = mpi.run(5, 5, "bcast", "-v", "--bcast-algorithm", algorithm, "--chunk-size", "256K", "-p", dest().toString(), b.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains(switch (algorithm) {
            case "chain" -> "pipelined chain over 5 node(s)";
            case "tree" -> "pipelined 2-ary tree over 5 node(s), depth 2";
            default -> "MPI_Ibcast";
        });
        byte[] want = Files.readAllBytes(tmp.resolve("blob.bin"));
        for (int i = 0; i < 5; i++) assertThat(Files.readAllBytes(node(i).resolve("blob.bin"))).as("node " + i).isEqualTo(want);
    }

    @Test
    void onlyTheNodesThatLackABundleReceiveItAndTheOthersAreNamed() throws Exception {
        Path b = blobBundle(2);
        Launcher.Result first = MpiRun.OPEN_MPI.run(2, 2, "bcast", "-p", dest().toString(), b.toString());
        assertThat(first.exit()).as(first.err()).isZero();
        Path ledger0 = node(0).resolve(".nodecast/ledger"), ledger1 = node(1).resolve(".nodecast/ledger");
        FileTime before0 = Files.getLastModifiedTime(ledger0), before1 = Files.getLastModifiedTime(ledger1);
        Files.writeString(node(1).resolve("blob.bin"), "changed here: a node that is skipped is not written to");

        Path report = tmp.resolve("report.json");
        Launcher.Result grown = MpiRun.OPEN_MPI.run(4, 4, "bcast", "-v", "--report", report.toString(), "-p", dest().toString(), b.toString());
        assertThat(grown.exit()).as(grown.err()).isZero();
        String h = Hosts.localName();
        assertThat(grown.err()).contains("already unpacked on " + h + "-n0, " + h + "-n1; sending to 2 node(s)",
                "to 2 node(s)", "pipelined chain over 3 node(s)");
        assertThat(Files.readString(report)).contains("\"skipped_nodes\": 2");
        byte[] want = Files.readAllBytes(tmp.resolve("blob.bin"));
        for (int i : List.of(2, 3)) assertThat(Files.readAllBytes(node(i).resolve("blob.bin"))).isEqualTo(want);
        assertThat(node(1).resolve("blob.bin")).hasContent("changed here: a node that is skipped is not written to");
        assertThat(Files.getLastModifiedTime(ledger0)).isEqualTo(before0);
        assertThat(Files.getLastModifiedTime(ledger1)).isEqualTo(before1);

        Launcher.Result again = MpiRun.MPICH.run(4, 4, "bcast", "-v", "-p", dest().toString(), b.toString());
        assertThat(again.exit()).as(again.err()).isZero();
        assertThat(again.err()).contains("already unpacked on all 4 node(s); not sent");
    }

    @Test
    void aLeaderThatStopsMidChainEndsTheStepOnEveryNodeNamingIt() throws Exception {
        Path b = blobBundle(48);
        List<String> cmd = MpiRun.OPEN_MPI.command(4, 4, "bcast", "--bcast-algorithm", "chain", "--chunk-size", "256K",
                "--stall-timeout", "5", "-p", dest().toString(), b.toString());
        Path out = tmp.resolve("out.txt");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        // rank 1 is node 1, second in the chain: stop it (SIGSTOP: alive, so the launcher sees nothing) once data has
        // reached the end of the chain, so node 2 is the first to go without data and names node 1 (stopped before any
        // data flowed, nodes 2 and 3 time out together and either may be the one that reports)
        ProcessHandle victim = null;
        Path arrived = node(3).resolve("blob.bin");
        for (long end = System.nanoTime() + 90_000_000_000L; victim == null && System.nanoTime() < end && p.isAlive(); Thread.sleep(20)) {
            if (!Files.exists(arrived) || Files.size(arrived) == 0) continue;
            victim = p.descendants().filter(ph -> rankOf(ph) == 1).findFirst().orElse(null);
        }
        assertThat(victim).as("rank 1 while the stream ran: %s", Files.exists(out) ? Files.readString(out) : "").isNotNull();
        long t0 = System.nanoTime();
        Trees.run(tmp, "kill", "-STOP", String.valueOf(victim.pid()));
        boolean ended = p.waitFor(120, TimeUnit.SECONDS);
        if (!ended) p.destroyForcibly();
        String text = Files.readString(out);
        assertThat(ended).as("the job ended within 120 s of the stop: %s", text).isTrue();
        assertThat(p.exitValue()).isNotZero();
        assertThat(text).contains("stalled", Hosts.localName() + "-n1");
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(60);
        assertThat(node(3).resolve(".nodecast/ledger")).satisfiesAnyOf(f -> assertThat(f).doesNotExist(), f -> assertThat(f).isEmptyFile());
    }

    /** The MPI rank of a process the launcher started, from its environment; -1 if it is not one. */
    private static int rankOf(ProcessHandle ph) {
        try {
            if (!ph.info().command().orElse("").endsWith("java")) return -1;
            String env = Files.readString(Path.of("/proc/" + ph.pid() + "/environ")).replace('\0', '\n');
            return env.lines().filter(l -> l.startsWith("OMPI_COMM_WORLD_RANK=")).map(l -> Integer.parseInt(l.substring(21)))
                    .findFirst().orElse(-1);
        } catch (Exception e) {
            return -1;
        }
    }
}
