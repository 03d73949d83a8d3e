package io.nodecast.bundle;

import java.io.IOException;

/** The machine's real Python (pyenv 3.11 with numpy and scipy here), as the tests' subject. */
final class PythonPrefix {
    private PythonPrefix() {}

    static String prefix() {
        return ask("import sys; print(sys.base_prefix)");
    }

    static String executable() {
        return ask("import sys, os; print(os.path.realpath(sys.executable))");
    }

    private static String ask(String code) {
        try {
            Process p = new ProcessBuilder("python3", "-c", code).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() != 0 || out.isEmpty()) throw new AssertionError("python3 is needed for this test");
            return out;
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("python3 is needed for this test", e);
        }
    }
}
