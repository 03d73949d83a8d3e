package io.nodecast.testbed;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * nodecast's own broadcast between the bed's hosts: the hosts that already have a bundle receive nothing, a leader
 * killed in the middle of the chain ends the step everywhere naming its host, and MPICH's layout that can hang
 * (several ranks per host over UCX, before 4.2) is refused instead.
 */
@Tag("cluster")
class BroadcastBedTest {
    static final String DEST = "/dev/shm/nodecast-bcast-test";
    static Path bundle;

    @BeforeAll
    static void up() throws IOException {
        Testbed.up();
        Path dir = Files.createDirectories(Testbed.SHARED.resolve("bcast-test"));
        byte[] noise = new byte[24 << 20];
        new Random(24).nextBytes(noise);
        Files.write(dir.resolve("noise.bin"), noise);
        bundle = dir.resolve("noise.tar");
        Launcher.Result tar = Launcher.exec(List.of("tar", "-cf", bundle.toString(), "-C", dir.toString(), "noise.bin"), java.util.Map.of());
        assertThat(tar.exit()).as(tar.err()).isZero();
    }

    @AfterEach
    void clean() {
        Launcher.exec(List.of(Testbed.DIR.resolve("shape").toString(), "--off"), java.util.Map.of());
        for (String h : Testbed.COMPUTE.subList(0, 3)) Testbed.on(h, "rm", "-rf", DEST);
    }

    @AfterAll
    static void down() {
        Testbed.down();
    }

    private static List<String> openmpi(int ranks, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Testbed.DIR.resolve("run").toString(), "head", Testbed.DIR.resolve("mpirun-openmpi").toString(),
                "-np", String.valueOf(ranks), "--host", String.join(",", Testbed.COMPUTE.subList(0, ranks)), Launcher.nodecast().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The nodecast bcast processes running on a host (the bed has no PID namespaces: its network namespace tells). */
    private static List<Long> bcastPids(String host) {
        String pids = Launcher.exec(List.of("ip", "netns", "pids", Testbed.PREFIX + "-" + host), java.util.Map.of()).out();
        List<Long> out = new ArrayList<>();
        for (String pid : pids.split("\\s+")) {
            if (pid.isBlank()) continue;
            try {
                String cmd = Files.readString(Path.of("/proc", pid, "cmdline")).replace('\0', ' ');
                if (cmd.contains("nodecast.jar bcast")) out.add(Long.parseLong(pid));
            } catch (IOException gone) {
                // ended while listed
            }
        }
        return out;
    }

    private static long received(String host) {
        return Long.parseLong(Testbed.on(host, "cat", "/sys/class/net/eth0/statistics/rx_bytes").out().strip());
    }

    @Test
    void theHostsThatHaveABundleReceiveNothingAndAreNamed() {
        List<String> hosts = Testbed.COMPUTE.subList(0, 3);
        Launcher.Result first = Launcher.exec(openmpi(2, "bcast", "-p", DEST, bundle.toString()), java.util.Map.of());
        assertThat(first.exit()).as(first.err()).isZero();
        long[] before = {received(hosts.get(0)), received(hosts.get(1)), received(hosts.get(2))};
        Launcher.Result grown = Launcher.exec(openmpi(3, "bcast", "-v", "-p", DEST, bundle.toString()), java.util.Map.of());
        assertThat(grown.exit()).as(grown.err()).isZero();
        assertThat(grown.err()).contains("already unpacked on " + hosts.get(0) + ", " + hosts.get(1) + "; sending to 1 node(s)");
        long bundleBytes = bundle.toFile().length();
        assertThat(received(hosts.get(2)) - before[2]).as("the new host").isGreaterThan(bundleBytes);
        // the launcher's and MPI's own messages, nothing of the bundle
        assertThat(received(hosts.get(0)) - before[0]).as(hosts.get(0)).isLessThan(bundleBytes / 10);
        assertThat(received(hosts.get(1)) - before[1]).as(hosts.get(1)).isLessThan(bundleBytes / 10);
        assertThat(Testbed.on(hosts.get(2), "cmp", bundle.getParent().resolve("noise.bin").toString(), DEST + "/noise.bin").exit()).isZero();
    }

    @Test
    void aLeaderKilledInTheMiddleOfTheChainEndsTheStepOnEveryHostNamingIt() throws Exception {
        List<String> hosts = Testbed.COMPUTE.subList(0, 3);
        // 100 Mbit/s: the 24 MiB stream lasts seconds, so the kill lands in it
        Launcher.Result shaped = Launcher.exec(List.of(Testbed.DIR.resolve("shape").toString(), "--rate", "100mbit"), java.util.Map.of());
        assertThat(shaped.exit()).as(shaped.err()).isZero();
        Path out = Files.createTempFile("bcast-kill", ".txt");
        Process p = new ProcessBuilder(openmpi(3, "bcast", "--bcast-algorithm", "chain", "--chunk-size", "1M", "-p", DEST, bundle.toString()))
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        String middle = hosts.get(1), last = hosts.get(2);
        String victim = "";
        for (long end = System.nanoTime() + 120_000_000_000L; victim.isEmpty() && System.nanoTime() < end && p.isAlive(); Thread.sleep(100)) {
            if (Testbed.on(last, "test", "-e", DEST + "/noise.bin").exit() != 0) continue;  // the last host receives: mid-stream
            victim = bcastPids(middle).stream().findFirst().map(String::valueOf).orElse("");
        }
        assertThat(victim).as("the middle host's leader while the stream ran: %s", Files.readString(out)).isNotEmpty();
        Launcher.exec(List.of("kill", "-9", victim), java.util.Map.of());
        boolean ended = p.waitFor(90, TimeUnit.SECONDS);
        if (!ended) p.destroyForcibly();
        String text = Files.readString(out);
        assertThat(ended).as("the step ended within 90 s of the kill: %s", text).isTrue();
        assertThat(p.exitValue()).as(text).isNotZero();
        assertThat(text).as("names the host").contains(middle);
        for (long end = System.nanoTime() + 15_000_000_000L; System.nanoTime() < end; Thread.sleep(200)) {
            if (hosts.stream().allMatch(h -> bcastPids(h).isEmpty())) break;
        }
        for (String h : hosts) assertThat(bcastPids(h)).as("left running on " + h).isEmpty();
        assertThat(Testbed.on(last, "sh", "-c", "cat " + DEST + "/.nodecast/ledger 2>/dev/null || true").out().strip())
                .as("no completion mark downstream").isEmpty();
        Files.delete(out);
    }

    @Test
    void mpichWithSeveralRanksOnAHostOfAMultiHostJobIsRefusedNotLeftToHang() {
        List<String> hosts = Testbed.COMPUTE.subList(0, 2);
        long t0 = System.nanoTime();
        Launcher.Result r = Testbed.on("head", Testbed.DIR.resolve("mpirun-mpich").toString(), "-np", "4", "-hosts",
                hosts.get(0) + ":2," + hosts.get(1) + ":2", Launcher.nodecast().toString(), "bcast", "-p", DEST, bundle.toString());
        assertThat(r.exit()).as(r.err()).isEqualTo(ExitCode.MPI.code());
        assertThat(r.err() + r.out()).contains(hosts.get(0) + " (rank 0)", "MPICH 4.0.2 over UCX", "one rank per host");
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(120);
        // the same bundle with one rank per host goes through
        Launcher.Result one = Testbed.on("head", Testbed.DIR.resolve("mpirun-mpich").toString(), "-np", "2", "-hosts",
                String.join(",", hosts), Launcher.nodecast().toString(), "bcast", "-p", DEST, bundle.toString());
        assertThat(one.exit()).as(one.err()).isZero();
    }
}
