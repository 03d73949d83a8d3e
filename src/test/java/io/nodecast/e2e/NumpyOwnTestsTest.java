package io.nodecast.e2e;

import io.nodecast.bundle.Excludes;
import io.nodecast.env.Language;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The interpreter as its own tests see it: numpy's linalg and fft test suites, run by pytest from the delivered,
 * relocated copy and from the original prefix, must come to the same counts.
 */
@Tag("python")
class NumpyOwnTestsTest {
    static final List<String> SUITES = List.of("numpy.linalg", "numpy.fft");
    private static final Pattern COUNT = Pattern.compile("(\\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)");
    @TempDir Path tmp;

    @Test
    void theSameTestsPassFromTheCopyAsFromTheOriginal() throws Exception {
        Path prefix = RealPython.prefix();
        Path numpy = prefix.resolve("lib/python3.11/site-packages/numpy");
        // tests that need data files the default excludes leave out would differ; there must be none to forgive here
        Excludes.Matcher ex = Excludes.of(true, List.of()).matcher();
        List<String> leftOut;
        try (Stream<Path> s = Stream.concat(Files.walk(numpy.resolve("linalg")), Files.walk(numpy.resolve("fft")))) {
            leftOut = s.filter(Files::isRegularFile).map(prefix::relativize).filter(ex::excludes).map(Path::toString).toList();
        }
        assertThat(leftOut).as("data files of " + SUITES + " the default excludes leave out").isEmpty();

        Path dest = tmp.resolve("local");
        Launcher.Result d = Launcher.run(Map.of(), "bcast", "-p", dest.toString(), RealPython.bundle().toString());
        assertThat(d.exit()).as(d.err()).isZero();

        Map<String, String> bare = new HashMap<>(Map.of("PATH", "/usr/bin:/bin", "HOME", tmp.toString(), "LANG", "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE", "1"));   // pytest's rewritten test modules stay out of the original prefix
        Map<String, String> rerouted = new HashMap<>(new Language.Python().apply(dest, bare));
        Launcher.Result where = Launcher.exec(List.of(dest.resolve("bin/python3").toString(), "-c", "import numpy; print(numpy.__file__)"), rerouted);
        assertThat(where.out()).startsWith(dest.toString());

        CompletableFuture<Launcher.Result> original = CompletableFuture.supplyAsync(() -> pytest(prefix.resolve("bin/python3"), bare, "original"));
        Launcher.Result copy = pytest(dest.resolve("bin/python3"), rerouted, "copy");
        Launcher.Result orig = original.get();
        Map<String, Integer> there = counts(orig.out()), here = counts(copy.out());
        System.out.println("pytest --pyargs " + String.join(" ", SUITES) + ": from " + prefix + " " + there + ", from " + dest + " " + here);
        assertThat(there.getOrDefault("passed", 0)).as("the original's run:\n" + tail(orig)).isGreaterThan(500);
        assertThat(here).as("the copy's run:\n" + tail(copy) + "\nthe original's:\n" + tail(orig)).isEqualTo(there);
    }

    private Launcher.Result pytest(Path python, Map<String, String> env, String dir) {
        try {
            Path cwd = Files.createDirectories(tmp.resolve(dir));
            return Launcher.exec(List.of("sh", "-c", "cd " + cwd + " && exec " + python + " -m pytest --pyargs "
                    + String.join(" ", SUITES) + " -p no:cacheprovider -q -rfE"), env);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** pytest's closing line: "642 passed, 2 skipped, 1 xfailed in 106.33s". */
    static Map<String, Integer> counts(String out) {
        String last = out.strip().lines().reduce((a, b) -> b).orElse("");
        Map<String, Integer> m = new TreeMap<>();
        Matcher x = COUNT.matcher(last);
        while (x.find()) m.put(x.group(2).replace("errors", "error"), Integer.parseInt(x.group(1)));
        return m;
    }

    private static String tail(Launcher.Result r) {
        List<String> lines = (r.out() + r.err()).lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }
}
