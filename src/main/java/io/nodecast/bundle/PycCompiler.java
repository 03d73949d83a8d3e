package io.nodecast.bundle;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles, with the bundled interpreter itself, the modules that have no bytecode yet, into a staging
 * directory rather than into the (possibly shared, read-only) prefix. The bytecode is timestamp-checked against
 * its source, and tar keeps the source mtime, so it stays valid on every node.
 */
public final class PycCompiler {
    // reads "source<TAB>target" lines; prints the targets it wrote
    private static final String SCRIPT = """
            import sys, py_compile
            for line in sys.stdin:
                src, dst = line.rstrip('\\n').split('\\t')
                try:
                    py_compile.compile(src, cfile=dst, dfile=src, doraise=True)
                    print(dst, flush=False)
                except Exception:
                    pass
            """;

    private PycCompiler() {}

    /** @return relative path in the bundle → compiled file in staging */
    public static Map<Path, Path> compileMissing(BundleSpec spec, Path python, Path staging) {
        String tag = cacheTag(python);
        Excludes.Matcher ex = spec.excludes().matcher();
        List<String[]> work = new ArrayList<>();
        Path root = spec.root();
        List<Path> starts = spec.members().isEmpty() ? List.of(root) : spec.members().stream().map(root::resolve).toList();
        try {
            for (Path start : starts) {
                if (!Files.isDirectory(start)) continue;
                Files.walkFileTree(start, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                        return !d.equals(root) && ex.excludes(root.relativize(d)) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                        String n = f.getFileName().toString();
                        if (!a.isRegularFile() || !n.endsWith(".py") || ex.excludes(root.relativize(f))) return FileVisitResult.CONTINUE;
                        Path pyc = f.resolveSibling("__pycache__").resolve(n.substring(0, n.length() - 3) + "." + tag + ".pyc");
                        if (!Files.exists(pyc)) {
                            work.add(new String[] {f.toString(), staging.resolve(root.relativize(pyc)).toString()});
                        }
                        return FileVisitResult.CONTINUE;
                    }
                });
            }
            Map<Path, Path> out = new HashMap<>();
            if (work.isEmpty()) return out;
            Process p = new ProcessBuilder(python.toString(), "-I", "-c", SCRIPT)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            Thread feeder = Thread.ofPlatform().start(() -> {
                try (OutputStream in = p.getOutputStream()) {
                    for (String[] w : work) in.write((w[0] + "\t" + w[1] + "\n").getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // the interpreter died: its exit status says so below
                }
            });
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    Path compiled = Path.of(line);
                    out.put(staging.relativize(compiled), compiled);
                }
            }
            feeder.join();
            if (p.waitFor() != 0) {
                throw new NodecastException(ExitCode.TOOL, python + " failed while compiling bytecode (exit " + p.exitValue() + ")");
            }
            return out;
        } catch (IOException e) {
            throw new NodecastException(ExitCode.TOOL, "cannot compile bytecode with " + python + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted while compiling bytecode", e);
        }
    }

    static String cacheTag(Path python) {
        try {
            Process p = new ProcessBuilder(python.toString(), "-I", "-c", "import sys; print(sys.implementation.cache_tag)")
                    .redirectErrorStream(true).start();
            String tag = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor() != 0 || tag.isEmpty() || tag.contains(" ")) {
                throw new NodecastException(ExitCode.TOOL, python + " cannot tell its bytecode tag: " + tag);
            }
            return tag;
        } catch (IOException e) {
            throw new NodecastException(ExitCode.TOOL, "cannot run " + python + " to compile bytecode: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
        }
    }
}
