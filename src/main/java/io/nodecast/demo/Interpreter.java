package io.nodecast.demo;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** The machine's Python as the demo finds it: the real executable (not a pyenv shim) and its prefix. */
record Interpreter(Path executable, Path prefix, boolean hasScipy) {
    static Interpreter probe(String python) {
        String code = """
                import os, sys, importlib.util as u
                print(os.path.realpath(sys.executable)); print(sys.base_prefix)
                print(all(u.find_spec(m) for m in ("numpy", "scipy")))
                """;
        try {
            Process p = new ProcessBuilder(python, "-c", code).redirectErrorStream(true).start();
            String[] lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip().split("\n");
            if (p.waitFor() != 0 || lines.length < 3) {
                throw new NodecastException(ExitCode.TOOL, "demo: " + python + " did not answer: " + String.join(" ", lines));
            }
            return new Interpreter(Path.of(lines[0].strip()), Path.of(lines[1].strip()), Boolean.parseBoolean(lines[2].strip().toLowerCase()));
        } catch (IOException e) {
            throw new NodecastException(ExitCode.TOOL, "demo: needs a Python: cannot run " + python + " (" + e.getMessage() + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
        }
    }
}
