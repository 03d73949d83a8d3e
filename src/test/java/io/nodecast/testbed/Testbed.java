package io.nodecast.testbed;

import io.nodecast.testing.Launcher;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The namespaced cluster of testbed/: bring it up, run on its hosts, take it down. */
final class Testbed {
    static final Path DIR = Launcher.home().resolve("testbed");
    static final Path SHARED = Path.of("/srv/nodecast-testbed");
    static final List<String> COMPUTE = List.of("n1", "n2", "n3");

    private Testbed() {}

    static void up() {
        Launcher.Result down = script("down");
        Launcher.Result r = script("up");
        if (r.exit() != 0) throw new AssertionError("testbed/up failed: " + r.err() + r.out() + down.err());
    }

    static void down() {
        script("down");
    }

    private static Launcher.Result script(String name) {
        return Launcher.exec(List.of(DIR.resolve(name).toString()), Map.of());
    }

    static Launcher.Result on(String host, Map<String, String> env, String... cmd) {
        List<String> full = new ArrayList<>(List.of(DIR.resolve("run").toString(), host));
        full.addAll(List.of(cmd));
        return Launcher.exec(full, env);
    }

    static Launcher.Result on(String host, String... cmd) {
        return on(host, Map.of(), cmd);
    }
}
