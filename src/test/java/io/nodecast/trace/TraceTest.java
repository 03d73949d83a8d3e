package io.nodecast.trace;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@Tag("strace")
class TraceTest {
    @TempDir Path tmp;

    @Test
    void countsExactlyTheCallsUnderASharedPath() throws Exception {
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        for (String f : List.of("a", "b", "c")) Files.writeString(shared.resolve(f), f);
        String code = "import os\nfor f in 'abc': os.stat(os.path.join('" + shared + "', f))";
        TraceReport r = Trace.run(List.of("python3", "-I", "-c", code), System.getenv(), List.of(shared), ProcessBuilder.Redirect.DISCARD);
        assertThat(r.exitCode()).isZero();
        assertThat(r.underShared()).containsEntry(shared.toString(), 3L);
        assertThat(r.calls()).isGreaterThan(3);
    }

    @Test
    void aLongerPythonPathCostsMoreCalls() throws Exception {
        TraceReport none = importNumpy(0);
        TraceReport ten = importNumpy(10);
        assertThat(ten.calls()).isGreaterThan(none.calls() + 100);
        assertThat(ten.underShared().values().iterator().next()).isGreaterThan(100L);
        assertThat(none.underShared().values().iterator().next()).isZero();
    }

    private TraceReport importNumpy(int entries) throws Exception {
        Path modules = Files.createDirectories(tmp.resolve("modules" + entries));
        List<String> dirs = new ArrayList<>();
        for (int i = 0; i < entries; i++) dirs.add(Files.createDirectories(modules.resolve("m" + i)).toString());
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("PYTHONPATH", String.join(":", dirs));
        if (entries == 0) env.remove("PYTHONPATH");
        TraceReport r = Trace.run(List.of("python3", "-c", "import numpy"), env, List.of(modules), ProcessBuilder.Redirect.DISCARD);
        assertThat(r.exitCode()).isZero();
        return r;
    }

    @Test
    void exitCodeOfTheCommandIsPassedOn() {
        Launcher.Result r = Launcher.run(Map.of(), "trace", "--", "sh", "-c", "exit 3");
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.err()).contains("file-system calls");
    }

    @Test
    void jsonOnStdout() {
        Launcher.Result r = Launcher.run(Map.of(), "trace", "--json", "--shared", "/etc", "--", "cat", "/etc/hostname");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("\"under_shared\": {\"/etc\": ").contains("\"by_syscall\"");
    }

    @Test
    void missingStraceIsAClearToolError() {
        Launcher.Result r = Launcher.run(Map.of("NODECAST_STRACE", "/nonexistent/strace"), "trace", "--", "true");
        assertThat(r.exit()).isEqualTo(ExitCode.TOOL.code());
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("strace is needed", "/nonexistent/strace");
    }

    @Test
    void unfinishedAndResumedCallsOfSeveralProcessesArePaired() throws Exception {
        String log = """
                101 openat(AT_FDCWD, "/shared/lib/a.py", O_RDONLY <unfinished ...>
                102 stat("/shared/lib/b.py", 0x7ffd) = -1 ENOENT (No such file or directory)
                101 <... openat resumed>) = 3
                102 execve("/usr/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0
                """;
        TraceReport r = Trace.parse(new BufferedReader(new StringReader(log)), List.of(Path.of("/shared")), 0);
        assertThat(r.calls()).isEqualTo(3);
        assertThat(r.failed()).isEqualTo(1);
        assertThat(r.underShared()).containsEntry("/shared", 2L);
        assertThat(r.bySyscall()).containsEntry("openat", 1L).containsEntry("stat", 1L).containsEntry("execve", 1L);
    }
}
