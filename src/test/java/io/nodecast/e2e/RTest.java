package io.nodecast.e2e;

import io.nodecast.testing.Launcher;
import io.nodecast.trace.Trace;
import io.nodecast.trace.TraceReport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * R end to end with Debian's r-base-core and r-cran-jsonlite: bundle R's home, deliver it, reroute with
 * {@code nodecast env --lang r}, and load a base and a CRAN package from the copy without one call to the
 * original R home or library directories.
 */
@Tag("r")
@Tag("strace")
class RTest {
    static final Path HOME = Path.of("/usr/lib/R");
    static final List<Path> ORIGINAL = List.of(HOME, Path.of("/usr/local/lib/R"), Path.of("/usr/share/R"), Path.of("/etc/R"));
    @TempDir Path tmp;

    @Test
    void rscriptLoadsStatsAndJsonliteFromTheCopyOnly() throws Exception {
        assertThat(HOME.resolve("site-library/jsonlite")).as("this test needs Debian's r-base-core and r-cran-jsonlite").isDirectory();
        Path bundle = tmp.resolve("r.tar.zst");
        Launcher.Result b = Launcher.run(Map.of(), "bundle", "prefix", HOME.toString(), "-v", "-o", bundle.toString());
        assertThat(b.exit()).as(b.err()).isZero();
        // Debian links R's configuration to /etc/R: followed at bundle time, so bcast has nothing to refuse
        assertThat(b.err()).contains("lib/R/etc/Renviron.site -> /etc/R/Renviron.site: leads outside the bundle; /etc/R/Renviron.site is copied in");

        Path dest = tmp.resolve("local");
        Launcher.Result d = Launcher.run(Map.of(), "bcast", "-v", "-p", dest.toString(), bundle.toString());
        assertThat(d.exit()).as(d.err()).isZero();
        assertThat(dest.resolve("lib/R/etc/Renviron.site")).isRegularFile();
        assertThat(Files.readString(dest.resolve("lib/R/etc/Renviron.site"))).contains(dest + "/lib/R/library").doesNotContain("/usr/lib/R");

        Launcher.Result env = Launcher.run(Map.of(), "env", "--lang", "r", "-p", dest.toString());
        assertThat(env.exit()).as(env.err()).isZero();
        assertThat(env.out()).contains("export R_HOME='" + dest + "/lib/R';", "export R_LIBS='", "export R_LIBS_SITE='",
                "export R_LIBS_USER='", "export PATH='" + dest + "/bin:" + dest + "/lib/R/bin:");
        String script = env.out() + "\ncd " + tmp + " && exec Rscript -e 'library(stats); library(jsonlite); "
                + "cat(toJSON(list(a = 1)), R.home(), sep = \"\\n\")'\n";
        TraceReport r = Trace.run(List.of("bash", "-c", script), Map.of("PATH", "/usr/bin:/bin", "HOME", tmp.toString()),
                java.util.stream.Stream.concat(ORIGINAL.stream(), java.util.stream.Stream.of(dest)).toList(), ProcessBuilder.Redirect.DISCARD);
        assertThat(r.exitCode()).isZero();
        for (Path p : ORIGINAL) assertThat(r.underShared().get(p.toString())).as("calls under " + p).isZero();
        assertThat(r.underShared().get(dest.toString())).as("R ran from the copy").isGreaterThan(300);

        Launcher.Result out = Launcher.exec(List.of("bash", "-c", script), Map.of("PATH", "/usr/bin:/bin", "HOME", tmp.toString()));
        assertThat(out.exit()).as(out.err()).isZero();
        assertThat(out.out().lines().toList()).containsExactly("{\"a\":[1]}", dest + "/lib/R");
    }
}
