package io.nodecast.testbed;

import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * testbed/shape slows the test bed's links as the Bohrium paper slowed its network: a rate cap (tbf) and a fixed
 * delay (netdelay on a netfilter queue in the switch). Bounds on what hosts observe, not benchmarks.
 */
@Tag("cluster")
class ShapeTest {
    static String switchNs;
    static Path state;

    @BeforeAll
    static void up() {
        Testbed.up();
        switchNs = Testbed.PREFIX + "-switch"; // lib.sh's tb_ns
        state = Testbed.STATE;
    }

    @AfterEach
    void off() {
        shape("--off");
    }

    @AfterAll
    static void down() {
        shape("--off");
        Testbed.down();
    }

    @Test
    void aDelayAddsTwiceItToTheRoundTripAndOffTakesItAway() {
        assertThat(ping().min()).as("unshaped round trip, ms").isLessThan(1.0);
        Launcher.Result on = shape("--delay-ms", "5");
        assertThat(on.exit()).as(on.err()).isZero();
        assertThat(on.out()).contains("delay 5 ms one way");
        assertThat(shape("--show").out()).contains("NFQUEUE", "netdelay: pid");

        Rtt delayed = ping();
        assertThat(delayed.min()).as("round trip with 5 ms each way, ms").isGreaterThanOrEqualTo(10.0);
        assertThat(delayed.avg()).as("not absurdly more").isLessThan(15.0);

        assertThat(shape("--off").exit()).isZero();
        assertThat(ping().avg()).as("round trip after --off, ms").isLessThan(1.0);
        assertNothingLeft();
        assertThat(shape("--off").exit()).as("--off twice").isZero();
    }

    @Test
    void aRateCapMakesABulkTransferTakeAtLeastSizeOverRate() {
        int mib = 50;
        double capped = seconds(mib, 200e6);
        Launcher.Result on = shape("--rate", "200mbit");
        assertThat(on.exit()).as(on.err()).isZero();
        assertThat(shape("--show").out()).contains("n1 eth0 (sends): tbf", "n2 port (receives): tbf");

        Duration t = transfer(mib);
        assertThat(t.toMillis() / 1000.0).as("%d MiB at 200 Mbit/s, s", mib)
                .isGreaterThanOrEqualTo(0.95 * capped).isLessThan(3 * capped + 2);

        shape("--off");
        assertThat(transfer(mib).toMillis() / 1000.0).as("the same after --off, s").isLessThan(capped / 2);
        assertNothingLeft();
    }

    @Test
    void aRateAndADelayTogetherStillCarryAboutTheRate() {
        int mib = 200;
        double capped = seconds(mib, 1e9);
        Launcher.Result on = shape("--rate", "1gbit", "--delay-ms", "5");
        assertThat(on.exit()).as(on.err()).isZero();
        assertThat(ping().min()).isGreaterThanOrEqualTo(10.0);

        Duration t = transfer(mib);
        assertThat(t.toMillis() / 1000.0).as("%d MiB at 1 Gbit/s through the delay line, s", mib)
                .isGreaterThanOrEqualTo(0.95 * capped).isLessThan(4 * capped);
        assertThat(shape("--show").out()).containsPattern("netdelay: packets [1-9]");

        shape("--off");
        assertNothingLeft();
    }

    @Test
    void badUsageIsRefusedWithAOneLineReason() {
        Launcher.Result r = shape("--rate", "1gb");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--rate '1gb' is not a rate");
        assertThat(shape("--delay-ms", "five").err()).contains("--delay-ms 'five' is not a delay");
        assertThat(shape("--off", "--rate", "1gbit").exit()).isEqualTo(2);
    }

    @Test
    void aBedThatIsNotUpIsNamedAndOffIsStillFine(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path conf = Files.writeString(dir.resolve("absent.conf"), """
                TB_PREFIX=ncz
                TB_HEAD=head
                TB_COMPUTE="n1"
                TB_SUBNET=10.231.99
                TB_STATE=%s/state
                TB_SHARED=%s/shared
                TB_SHM_SIZE=64m
                """.formatted(dir, dir));
        Map<String, String> env = Map.of("NODECAST_TESTBED_CONF", conf.toString());
        Launcher.Result r = Launcher.exec(List.of(Testbed.DIR.resolve("shape").toString(), "--rate", "1gbit"), env);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("testbed: shape: the test bed is not up (no namespace ncz-switch): run testbed/up");
        assertThat(Launcher.exec(List.of(Testbed.DIR.resolve("shape").toString(), "--off"), env).exit()).isZero();
    }

    // --- helpers

    /** Seconds that {@code mib} MiB take at {@code bitsPerSecond} (tc's mbit and gbit are powers of ten). */
    static double seconds(int mib, double bitsPerSecond) {
        return mib * 1048576.0 * 8 / bitsPerSecond;
    }

    static Launcher.Result shape(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of(Testbed.DIR.resolve("shape").toString()));
        cmd.addAll(List.of(args));
        return Launcher.exec(cmd, Map.of());
    }

    record Rtt(double min, double avg, double max) {}

    /** ping from n1 to n2: ten echoes, 0.2 s apart. */
    static Rtt ping() {
        Launcher.Result r = Testbed.on("n1", "ping", "-n", "-q", "-c", "10", "-i", "0.2", "n2");
        assertThat(r.exit()).as(r.err() + r.out()).isZero();
        Matcher m = Pattern.compile("= ([\\d.]+)/([\\d.]+)/([\\d.]+)/").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        return new Rtt(Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)));
    }

    /**
     * Sends {@code mib} MiB of zeros from n1 to n2 over TCP (bash's /dev/tcp into nc) and times it until the
     * receiver has read the last byte and seen the connection close.
     */
    static Duration transfer(int mib) {
        String script = """
                tb=%s
                "$tb/run" n2 sh -c 'exec nc -l 5001 </dev/null >/dev/null' & r=$!
                for _ in $(seq 100); do "$tb/run" n2 ss -Hltn 'sport = :5001' | grep -q 5001 && break; sleep 0.05; done
                s=$(date +%%s%%N)
                "$tb/run" n1 bash -c 'dd if=/dev/zero bs=1M count=%d status=none > /dev/tcp/n2/5001' || exit 1
                wait $r || exit 1
                e=$(date +%%s%%N)
                echo "nanoseconds $((e - s))"
                """.formatted(io.nodecast.env.Shell.quote(Testbed.DIR.toString()), mib);
        Launcher.Result r = Launcher.exec(List.of("timeout", "120", "bash", "-c", script), Map.of());
        assertThat(r.exit()).as(r.err() + r.out()).isZero();
        Matcher m = Pattern.compile("nanoseconds (\\d+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        return Duration.ofNanos(Long.parseLong(m.group(1)));
    }

    /** After --off: no delayer in the switch, no NFQUEUE rule, no tbf on any link, no state. */
    void assertNothingLeft() {
        assertThat(Launcher.exec(List.of("ip", "netns", "pids", switchNs), Map.of()).out().strip())
                .as("processes in %s", switchNs).isEmpty();
        assertThat(Launcher.exec(List.of("ip", "netns", "exec", switchNs, "iptables-legacy", "-S", "FORWARD"), Map.of()).out())
                .doesNotContain("NFQUEUE");
        assertThat(shape("--show").out().strip()).isEqualTo("testbed/shape: off (full speed, no added delay)");
        assertThat(Files.exists(state.resolve("shape"))).isFalse();
    }
}
