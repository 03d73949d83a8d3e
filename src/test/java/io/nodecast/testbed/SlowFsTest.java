package io.nodecast.testbed;

import io.nodecast.core.FileTrees;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The test bed's slow shared file system (testbed/slowfs/run) on a temporary backing directory and mount point in
 * the machine's own namespaces: it passes everything through, counts every operation, caps metadata operations
 * at the rate asked, adds the delay asked, serves Python's imports, and leaves nothing behind. Root and /dev/fuse
 * are needed, hence the cluster tag. {@code -Dnodecast.slowfs.dir=/srv/nodecast-testbed} puts the directories
 * in the test bed's shared directory instead.
 */
@Tag("cluster")
class SlowFsTest {
    static final Path RUN = Launcher.home().resolve("testbed/slowfs/run");

    @TempDir
    Path tmp;

    /**
     * A slow file system mounted for one test: BACKING and MOUNTPOINT side by side, its pid and stats in STATE;
     * OUTSIDE, when not null, is a directory outside the test's temporary one, deleted after the unmount.
     */
    record Mount(Path backing, Path point, Path state, Path outside) implements AutoCloseable {
        @Override
        public void close() {
            slowfs(state, "unmount", point.toString());
            if (outside != null) {
                try {
                    FileTrees.delete(outside);
                } catch (IOException e) {
                    throw new AssertionError("cannot delete " + outside, e);
                }
            }
        }
    }

    private Mount mount(String... options) throws IOException {
        String dir = System.getProperty("nodecast.slowfs.dir");
        Path outside = dir == null ? null : Files.createTempDirectory(Path.of(dir), "slowfs-test");
        Path base = outside == null ? tmp : outside;
        Path backing = Files.createDirectories(base.resolve("backing"));
        Path point = Files.createDirectories(base.resolve("mnt"));
        List<String> args = new ArrayList<>(List.of("mount", backing.toString(), point.toString()));
        args.addAll(List.of(options));
        Path state = tmp.resolve("state");   // not the test bed's $TB_STATE: testbed/down may wipe that meanwhile
        Launcher.Result r = slowfs(state, args.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("mounted " + backing + " on " + point);
        return new Mount(backing, point, state, outside);
    }

    static Launcher.Result slowfs(Path state, String... args) {
        List<String> cmd = new ArrayList<>(List.of(RUN.toString()));
        cmd.addAll(List.of(args));
        return Launcher.exec(cmd, Map.of("NODECAST_SLOWFS_STATE", state.toString()));
    }

    /** The daemon's counters, from {@code stats --json}. */
    record Stats(String json) {
        long number(String key) {
            Matcher m = Pattern.compile("\"" + key + "\": (\\d+)").matcher(json);
            return m.find() ? Long.parseLong(m.group(1)) : 0;
        }

        double seconds(String key) {
            Matcher m = Pattern.compile("\"" + key + "\": ([0-9.]+)").matcher(json);
            assertThat(m.find()).as(key + " in " + json).isTrue();
            return Double.parseDouble(m.group(1));
        }
    }

    static Stats stats(Mount m) {
        Launcher.Result r = slowfs(m.state(), "stats", m.point().toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        return new Stats(r.out());
    }

    /** One lstat(); true if the name exists. */
    static boolean stat(Path p) throws IOException {
        try {
            Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    static boolean mounted(Path point) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.split(" ")[4].equals(point.toString()));
    }

    @Test
    void writesGoToTheBackingDirectoryAndReadsComeFromIt() throws Exception {
        try (Mount m = mount()) {
            Files.createDirectories(m.point().resolve("dir/sub"));
            Files.writeString(m.point().resolve("dir/sub/a.txt"), "through the mount\n");
            assertThat(m.backing().resolve("dir/sub/a.txt")).hasContent("through the mount");

            Files.writeString(m.backing().resolve("b.txt"), "from the backing directory\n");
            assertThat(Files.readString(m.point().resolve("b.txt"))).isEqualTo("from the backing directory\n");
            Files.writeString(m.point().resolve("b.txt"), "short\n");   // O_TRUNC
            assertThat(m.backing().resolve("b.txt")).hasContent("short");

            Files.move(m.point().resolve("b.txt"), m.point().resolve("dir/c.txt"));
            Files.createSymbolicLink(m.point().resolve("link"), Path.of("dir/c.txt"));
            assertThat(Files.readSymbolicLink(m.backing().resolve("link"))).isEqualTo(Path.of("dir/c.txt"));
            assertThat(Files.readString(m.point().resolve("link"))).isEqualTo("short\n");
            try (var names = Files.list(m.point().resolve("dir"))) {
                assertThat(names.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("sub", "c.txt");
            }
            Files.delete(m.point().resolve("dir/sub/a.txt"));
            Files.delete(m.point().resolve("dir/sub"));
            assertThat(m.backing().resolve("dir/sub")).doesNotExist();
        }
    }

    @Test
    void everyStatReachesTheDaemonAndIsCounted() throws Exception {
        int present = 40, missing = 40;
        try (Mount m = mount()) {
            for (int i = 0; i < present; i++) Files.writeString(m.backing().resolve("f" + i), "x");
            Stats before = stats(m);
            for (int round = 0; round < 2; round++) {   // the second round would hit the caches if they were on
                for (int i = 0; i < present; i++) assertThat(stat(m.point().resolve("f" + i))).isTrue();
                for (int i = 0; i < missing; i++) assertThat(stat(m.point().resolve("nothing" + i))).isFalse();
            }
            Stats after = stats(m);
            long perStat = after.number("ops_per_stat");
            assertThat(perStat).isEqualTo(2);
            // a present name: the lookup, then the getattr; a missing one: the lookup only
            long expected = 2 * (present * perStat + missing);
            assertThat(after.number("getattr") - before.number("getattr")).isEqualTo(expected);
            assertThat(after.number("total") - before.number("total")).isEqualTo(expected);
        }
    }

    @Test
    void theCapBoundsTheRateAndWithoutItTheRateIsMuchHigher() throws Exception {
        int rate = 100, burst = 5, names = 100;   // 200 operations: about 2 s under the cap
        double capped;
        try (Mount m = mount("--rate", Integer.toString(rate), "--burst", Integer.toString(burst))) {
            for (int i = 0; i < names; i++) Files.writeString(m.backing().resolve("f" + i), "x");
            Stats before = stats(m);
            long t0 = System.nanoTime();
            for (int i = 0; i < names; i++) stat(m.point().resolve("f" + i));
            double seconds = (System.nanoTime() - t0) / 1e9;
            Stats after = stats(m);
            long ops = after.number("total") - before.number("total");
            assertThat(ops).isEqualTo(2L * names);
            assertThat((double) ops).as("%d operations in %.3f s", ops, seconds).isLessThanOrEqualTo(rate * seconds + burst);
            assertThat(after.number("throttled") - before.number("throttled")).isPositive();
            assertThat(after.seconds("waited_s")).isGreaterThan(0.2);
            capped = ops / seconds;
        }
        try (Mount m = mount("--rate", "0")) {
            for (int i = 0; i < names; i++) Files.writeString(m.backing().resolve("f" + i), "x");
            long t0 = System.nanoTime();
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < names; i++) stat(m.point().resolve("f" + i));
            }
            double free = 3 * 2 * names / ((System.nanoTime() - t0) / 1e9);
            assertThat(free).as("unlimited %.0f ops/s against capped %.0f", free, capped).isGreaterThan(5.0 * rate);
            assertThat(stats(m).number("throttled")).isZero();
        }
    }

    @Test
    void theDelayIsAddedToEveryOperation() throws Exception {
        int delayMs = 20, names = 15;
        try (Mount m = mount("--delay-ms", Integer.toString(delayMs))) {
            Stats before = stats(m);
            long t0 = System.nanoTime();
            for (int i = 0; i < names; i++) stat(m.point().resolve("missing" + i));   // one operation each
            double seconds = (System.nanoTime() - t0) / 1e9;
            Stats after = stats(m);
            long ops = after.number("total") - before.number("total");
            assertThat(ops).isEqualTo(names);
            assertThat(seconds).isGreaterThanOrEqualTo(ops * delayMs / 1e3);
            assertThat(after.seconds("delayed_s") - before.seconds("delayed_s")).isGreaterThanOrEqualTo(ops * delayMs / 1e3);
        }
    }

    @Test
    void pythonImportsNumpyFromAPrefixOnTheMount() throws Exception {
        Path prefix = RealPython.prefix();
        try (Mount m = mount()) {
            // the real prefix, bound read-only into the backing directory: nothing copied, and nothing of it can
            // be deleted by the temporary directory's clean-up should the unbinding fail
            Path py = Files.createDirectories(m.backing().resolve("py"));
            Launcher.Result bind = Launcher.exec(List.of("mount", "--bind", "-o", "ro", prefix.toString(), py.toString()), Map.of());
            assertThat(bind.exit()).as(bind.err()).isZero();
            try {
                Stats before = stats(m);
                Path onMount = m.point().resolve("py");
                Launcher.Result r = Launcher.exec(List.of(onMount.resolve("bin/python3").toString(), "-c",
                                "import sys, numpy; print(sys.prefix); print(numpy.__file__)"),
                        Map.of("PYTHONHOME", onMount.toString(), "PYTHONDONTWRITEBYTECODE", "1", "PYTHONNOUSERSITE", "1"));
                assertThat(r.exit()).as(r.err()).isZero();
                assertThat(r.out().lines()).containsExactly(onMount.toString(),
                        onMount.resolve("lib/python3.11/site-packages/numpy/__init__.py").toString());
                Stats after = stats(m);
                assertThat(after.number("getattr") - before.number("getattr")).isGreaterThan(1000);
                assertThat(after.number("read") - before.number("read")).isPositive();
            } finally {
                Launcher.exec(List.of("umount", "-l", py.toString()), Map.of());
            }
        }
    }

    @Test
    void unmountLeavesNoMountAndNoProcessAndCanBeRepeated() throws Exception {
        Mount m = mount("--rate", "300");
        long pid = stats(m).number("pid");
        assertThat(ProcessHandle.of(pid)).isPresent();
        assertThat(mounted(m.point())).isTrue();

        Launcher.Result again = slowfs(m.state(), "mount", m.backing().toString(), m.point().toString());
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("busy");

        Launcher.Result r = slowfs(m.state(), "unmount", m.point().toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(mounted(m.point())).isFalse();
        // an exited daemon stays a zombie until init reaps it, which a loaded machine may take seconds to do
        for (int i = 0; i < 100 && running(pid); i++) Thread.sleep(100);
        assertThat(running(pid)).as("slowfs daemon " + pid + " still running after unmount").isFalse();
        assertThat(slowfs(m.state(), "unmount", m.point().toString()).exit()).isZero();
        assertThat(stats(m).json()).contains("\"running\": false");   // the last counters stay readable
        m.close();
    }

    /** Alive and not a zombie (state Z in /proc/PID/stat: exited, waiting for its parent to reap it). */
    private static boolean running(long pid) {
        if (ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isEmpty()) return false;
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
