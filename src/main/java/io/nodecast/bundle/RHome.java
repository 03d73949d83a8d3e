package io.nodecast.bundle;

import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.NodecastException;
import io.nodecast.relocate.Manifest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tier 1 for R when the directory given is R's home itself (Debian's /usr/lib/R) rather than an install prefix
 * (/opt/R/4.3 or a conda environment, whose home is PREFIX/lib/R and which {@code bundle prefix} takes as it is).
 *
 * <p>The bundle is laid out as a prefix, so one R profile serves both: the home at {@code lib/R}; the share,
 * include and doc directories its {@code bin/R} names from outside it at {@code lib/R/share}, {@code include},
 * {@code doc}, where a source build keeps them; every library directory R searches outside its home at
 * {@code lib/R/libs/<its path with '-' for '/'>}. Each of those original paths is mapped in the relocation list,
 * so R's own scripts and Debian's Renviron.site (copied in through its link to /etc/R) name the copy.
 */
final class RHome {
    /** Debian's bin/R, on a 64-bit machine, swaps R_HOME for /usr/lib64/R or /usr/lib/R when it finds R there. */
    private static final String MULTILIB_PROBE = "if test \"${R_HOME_DIR}\" = \"%s\"; then";
    private static final Pattern DIR_VARIABLE = Pattern.compile("(?m)^(R_SHARE_DIR|R_INCLUDE_DIR|R_DOC_DIR)=(/\\S+)$");

    private RHome() {}

    /** An R home: its shell front end, its compiled R and its base package. */
    static boolean is(Path dir) {
        return Files.isRegularFile(dir.resolve("bin/R")) && Files.isRegularFile(dir.resolve("bin/exec/R"))
                && Files.isDirectory(dir.resolve("library/base"));
    }

    static BundleSummary bundle(Path given, Path home, Excludes excludes, Bundles.Output out) {
        Path stage = null;
        try {
            stage = Files.createTempDirectory("nodecast-r-").toRealPath();
            Path at = Path.of("lib/R");
            List<BundleSpec.Graft> grafts = new ArrayList<>(List.of(new BundleSpec.Graft(home, at)));
            List<Manifest.Origin> origins = new ArrayList<>(List.of(new Manifest.Origin(home.toString(), at.toString())));
            Path abs = given.toAbsolutePath().normalize();
            if (!abs.equals(home)) origins.add(new Manifest.Origin(abs.toString(), at.toString()));
            String front = Files.readString(home.resolve("bin/R"), StandardCharsets.ISO_8859_1);
            for (Map.Entry<String, Path> e : outsideDirs(front, home).entrySet()) {
                Path to = at.resolve(e.getKey());
                grafts.add(new BundleSpec.Graft(e.getValue(), to));
                origins.add(new Manifest.Origin(e.getValue().toString(), to.toString()));
            }
            for (Path lib : libraryDirs(home)) {
                Path to = at.resolve("libs").resolve(lib.toString().substring(1).replace('/', '-'));
                grafts.add(new BundleSpec.Graft(lib, to));
                origins.add(new Manifest.Origin(lib.toString(), to.toString()));
            }
            Map<Path, byte[]> patched = new HashMap<>();
            String probe = MULTILIB_PROBE.formatted(home);
            if (front.contains("\n" + probe + "\n")) {
                String neutral = "if false; then  # nodecast: Debian's lib64 probe here would send R back to " + home;
                patched.put(at.resolve("bin/R"), front.replace("\n" + probe + "\n", "\n" + neutral + "\n").getBytes(StandardCharsets.ISO_8859_1));
            }
            BundleSpec spec = new BundleSpec(stage, List.of(), excludes, PycMode.KEEP, true, grafts, origins, patched);
            return out.writer().write(spec, out.file(), Map.of());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (stage != null) FileTrees.deleteQuietly(stage);
        }
    }

    /** share, include, doc: where bin/R says they are, when that is outside the home and the home has none. */
    static Map<String, Path> outsideDirs(String front, Path home) throws IOException {
        Map<String, Path> out = new LinkedHashMap<>();
        Matcher m = DIR_VARIABLE.matcher(front);
        while (m.find()) {
            String name = switch (m.group(1)) {
                case "R_SHARE_DIR" -> "share";
                case "R_INCLUDE_DIR" -> "include";
                default -> "doc";
            };
            Path dir = Path.of(m.group(2));
            if (!dir.startsWith(home) && Files.isDirectory(dir) && !Files.exists(home.resolve(name))) out.put(name, dir.toRealPath());
        }
        return out;
    }

    /**
     * The library directories R searches outside its home, from R itself with no user library: the site
     * libraries of Renviron.site and R_LIBS_SITE. Only existing ones: R drops the others.
     */
    static List<Path> libraryDirs(Path home) throws IOException {
        Path rscript = home.resolve("bin/Rscript");
        if (!Files.isExecutable(rscript)) return List.of();
        ProcessBuilder pb = new ProcessBuilder(rscript.toString(), "--no-init-file", "-e", "cat(.libPaths(), sep='\\n')")
                .redirectErrorStream(true);
        pb.environment().put("RHOME", home.toString());
        pb.environment().put("R_LIBS_USER", "/nonexistent/nodecast-no-user-library");
        pb.environment().remove("R_LIBS");
        pb.environment().remove("R_LIBS_SITE");
        Process p = pb.start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new NodecastException(ExitCode.TOOL, "could not ask R for its library directories: '" + rscript
                        + " -e .libPaths()' exited with " + p.exitValue() + ": " + text.strip().lines().reduce((a, b) -> b).orElse(""));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
        }
        List<Path> out = new ArrayList<>();
        for (String line : text.lines().map(String::strip).filter(l -> l.startsWith("/")).toList()) {
            Path dir = Path.of(line).toRealPath();
            if (!dir.startsWith(home) && !out.contains(dir)) out.add(dir);
        }
        return out;
    }
}
