package io.nodecast.env;

import io.nodecast.testing.Launcher;
import io.nodecast.testing.TarBuilder;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** activate.sh in real bash and zsh: the environment, the paper's functions, and the exit trap. */
class ActivateTest {
    @TempDir Path tmp;

    private Launcher.Result shell(String shell, String script, Map<String, String> env) throws Exception {
        Path file = Files.writeString(tmp.resolve("job." + shell), script);
        return Launcher.exec(List.of(shell, file.toString()), env);
    }

    @Tag("zsh")
    @ParameterizedTest
    @ValueSource(strings = {"bash", "zsh"})
    void theWorkflowOfThePapersJobScriptWithAnEmptyLauncher(String shell) throws Exception {
        Path dest = tmp.resolve("local");
        Path tier1 = new TarBuilder().file("lib/python3.11/site-packages/tier1.py", "X = 1\n").writeTo(tmp.resolve("t1.tar"));
        Path userbase = Files.createDirectories(tmp.resolve("userbase/lib/python3.11/site-packages"));
        Files.writeString(userbase.resolve("mine.py"), "Y = 2\n");
        Files.createDirectories(tmp.resolve("app/bin"));
        Files.writeString(tmp.resolve("app/bin/main.py"), "print('main')\n");
        Path marker = tmp.resolve("marker");
        String script = """
                trap 'echo earlier-trap > %5$s' EXIT
                export PYTHONPATH=/somewhere/shared:/else
                source %1$s %2$s ""
                echo "HOME=$PYTHONHOME PATHSET=${PYTHONPATH-unset} UB=$PYTHONUSERBASE"
                case ":$PATH:" in *":%2$s/bin:"*) echo path-ok;; esac
                case ":$LD_LIBRARY_PATH:" in *":%2$s/lib:"*) echo ld-ok;; esac
                bcast %3$s || exit 11
                bcast-userbase || exit 12
                mirror %4$s bin || exit 13
                ls %2$s/lib/python3.11/site-packages %2$s/bin
                """.formatted(Shell.quote(Launcher.home().resolve("activate.sh").toString()), dest, tier1, tmp.resolve("app"), marker);
        Launcher.Result r = shell(shell, script, Map.of("PYTHONUSERBASE", tmp.resolve("userbase").toString()));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("HOME=" + dest + " PATHSET=unset UB=" + dest, "path-ok", "ld-ok",
                "tier1.py", "mine.py", "main.py");
        assertThat(dest).as("the exit trap purged the destination").doesNotExist();
        assertThat(marker).as("the job's own exit trap still ran").hasContent("earlier-trap");
    }

    @org.junit.jupiter.api.Tag("mpi")
    @Test
    void withARealLauncherEveryNodeIsServedAndPurged() throws Exception {
        Path nodes = tmp.resolve("nodes");
        Path tier1 = new TarBuilder().file("lib/python3.11/site-packages/tier1.py", "X = 1\n").writeTo(tmp.resolve("t1.tar"));
        Path userbase = Files.createDirectories(tmp.resolve("userbase/lib/python3.11/site-packages"));
        Files.writeString(userbase.resolve("mine.py"), "Y = 2\n");
        Files.createDirectories(tmp.resolve("app/bin"));
        Files.writeString(tmp.resolve("app/bin/main.py"), "print('main')\n");
        String launcher = "mpirun.openmpi --allow-run-as-root --oversubscribe -np 4 -x NODECAST_SIMULATE_NODES=2";
        Launcher.Result r = shell("bash", """
                source %1$s '%2$s/%%h' "%3$s"
                bcast -v %4$s || exit 11
                bcast-userbase || exit 12
                mirror %5$s bin || exit 13
                for n in %2$s/*; do ls "$n/bin" "$n/lib/python3.11/site-packages" | tr '\n' ' '; echo; done
                """.formatted(Shell.quote(Launcher.home().resolve("activate.sh").toString()), nodes, launcher, tier1, tmp.resolve("app")),
                Map.of("PYTHONUSERBASE", userbase.getParent().getParent().getParent().toString()));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().lines().filter(l -> l.contains("main.py") && l.contains("tier1.py") && l.contains("mine.py")).count()).isEqualTo(2);
        try (var s = Files.list(nodes)) {
            assertThat(s.toList()).as("the exit trap purged every node").isEmpty();
        }
    }

    @Test
    void aFailedBcastFailsTheFunction() throws Exception {
        Path dest = tmp.resolve("local");
        Launcher.Result r = shell("bash", """
                source %s %s ""
                bcast /nonexistent/tier1.tar.zst
                echo "status=$?"
                """.formatted(Shell.quote(Launcher.home().resolve("activate.sh").toString()), dest), Map.of());
        assertThat(r.out()).contains("status=3");
        assertThat(r.err()).contains("/nonexistent/tier1.tar.zst", "does not exist");
    }

    @Test
    void envForEveryShellAndLanguage() {
        Launcher.Result bash = Launcher.run(Map.of("PATH", "/usr/bin:/bin"), "env", "-p", "/dev/shm/x");
        assertThat(bash.out()).contains("export PYTHONHOME='/dev/shm/x';", "unset PYTHONPATH;",
                "export PYTHONUSERBASE='/dev/shm/x';", "export PATH='/dev/shm/x/bin:/usr/bin:/bin';");
        assertThat(Launcher.run(Map.of(), "env", "-p", "/d", "--shell", "csh").out()).contains("setenv PYTHONHOME '/d';", "unsetenv PYTHONPATH;");
        assertThat(Launcher.run(Map.of(), "env", "-p", "/d", "--shell", "fish").out()).contains("set -gx PYTHONHOME '/d';", "set -e PYTHONPATH;");
        assertThat(Launcher.run(Map.of(), "env", "-p", "/d", "--lang", "r").out()).contains("export R_HOME='/d/lib/R';");
        assertThat(Launcher.run(Map.of(), "env", "-p", "/d", "--lang", "julia").out()).contains("export JULIA_DEPOT_PATH='/d/share/julia';");
        assertThat(Launcher.run(Map.of(), "env", "--shell", "cmd.exe").exit()).isEqualTo(2);
    }

    @Test
    void evalOfEnvInBashReroutesPython() throws Exception {
        Launcher.Result r = shell("bash", """
                export PYTHONPATH=/shared/a:/shared/b
                eval "$(%s env -p /dev/shm/somewhere)"
                echo "$PYTHONHOME|${PYTHONPATH-unset}|$PYTHONUSERBASE|${PATH%%%%:*}|${LD_LIBRARY_PATH%%%%:*}"
                """.formatted(Shell.quote(Launcher.nodecast().toString())), Map.of());
        assertThat(r.out().strip()).isEqualTo("/dev/shm/somewhere|unset|/dev/shm/somewhere|/dev/shm/somewhere/bin|/dev/shm/somewhere/lib");
    }
}
