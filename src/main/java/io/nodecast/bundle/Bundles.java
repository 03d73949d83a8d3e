package io.nodecast.bundle;

import io.nodecast.format.Compression;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongConsumer;

/** The bundle builders of the three tiers: what each takes from where, written by one {@link BundleWriter}. */
public final class Bundles {
    /** The directories of a prefix or a modules path that make up tier 1. */
    public static final List<String> PREFIX_MEMBERS = List.of("bin", "lib", "lib64", "libexec", "sbin", "include", "share", "etc");

    private Bundles() {}

    /**
     * How to write: compression from the output name, level (0 = default), threads for zstd.
     * @param progress told input bytes written so far
     */
    public record Output(Path file, int level, int threads, LongConsumer progress) {
        BundleWriter writer() {
            return new BundleWriter(Compression.forFileName(file.getFileName().toString()), level, threads, progress);
        }
    }

    /** Tier 1: an interpreter prefix (conda, pyenv, a modules path), or R's home (laid out as a prefix: {@link RHome}). */
    public static BundleSummary prefix(Path prefix, Excludes excludes, PycMode pyc, Optional<Path> python, Output out) {
        Path root = realDir(prefix);
        if (RHome.is(root)) return RHome.bundle(prefix, root, excludes, out);
        List<Path> members = PREFIX_MEMBERS.stream().filter(m -> Files.exists(root.resolve(m))).map(Path::of).toList();
        if (members.isEmpty()) {
            throw new NodecastException(ExitCode.USAGE, root + " has none of " + PREFIX_MEMBERS + ": is it an install prefix?");
        }
        BundleSpec spec = new BundleSpec(root, members, excludes, pyc, true).withRelocation(origins(prefix, root));
        return write(spec, pyc == PycMode.COMPILE ? python.or(() -> findPython(root)) : Optional.empty(), out);
    }

    /** Tier 3 (and anything else): a directory tree, or the named members of it. */
    public static BundleSummary dir(Path dir, List<Path> members, Excludes excludes, PycMode pyc, Optional<Path> python, Output out) {
        Path root = realDir(dir);
        for (Path m : members) {
            if (!Files.exists(root.resolve(m))) throw new NodecastException(ExitCode.USAGE, root.resolve(m) + " does not exist");
        }
        BundleSpec spec = new BundleSpec(root, members, excludes, pyc, false);
        return write(spec, pyc == PycMode.COMPILE ? python : Optional.empty(), out);
    }

    /** Tier 2: the user's $PYTHONUSERBASE (or what Python says it is). */
    public static BundleSummary userbase(Optional<Path> base, Path python, Excludes excludes, PycMode pyc, Output out) {
        Path root = base.orElseGet(() -> Path.of(run(List.of(python.toString(), "-m", "site", "--user-base"), "find the user base").strip()));
        if (!Files.isDirectory(root)) {
            throw new NodecastException(ExitCode.USAGE, "the user base " + root + " does not exist: nothing to bundle (set PYTHONUSERBASE)");
        }
        Path real = realDir(root);
        List<Manifest.Origin> origins = new ArrayList<>(origins(root, real));
        interpreterOrigin(python).ifPresent(origins::add);
        return write(new BundleSpec(real, List.of(), excludes, pyc, false).withRelocation(origins),
                pyc == PycMode.COMPILE ? Optional.of(python) : Optional.empty(), out);
    }

    /**
     * Tier 2: what {@code pip install --prefix} puts in place, installed into a private temporary prefix.
     * Works offline when the requirements are local paths or wheels.
     */
    public static BundleSummary pip(Path python, List<String> packages, List<Path> requirements, List<String> pipArgs,
                                    Excludes excludes, PycMode pyc, Output out) {
        if (packages.isEmpty() && requirements.isEmpty()) {
            throw new NodecastException(ExitCode.USAGE, "bundle pip: name at least one package or -r file");
        }
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("nodecast-pip-");
            List<String> cmd = new ArrayList<>(List.of(python.toString(), "-m", "pip", "install", "--prefix", tmp.toString(),
                    "--no-warn-script-location", "--disable-pip-version-check", "--no-input", "--ignore-installed"));
            cmd.addAll(pipArgs);
            for (Path r : requirements) {
                cmd.add("-r");
                cmd.add(r.toString());
            }
            cmd.addAll(packages);
            run(cmd, "install the packages");
            Path real = tmp.toRealPath();
            List<Manifest.Origin> origins = new ArrayList<>(origins(tmp, real));
            interpreterOrigin(python).ifPresent(origins::add);
            return write(new BundleSpec(real, List.of(), excludes, pyc, false).withRelocation(origins),
                    pyc == PycMode.COMPILE ? Optional.of(python) : Optional.empty(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (tmp != null) FileTrees.deleteQuietly(tmp);
        }
    }

    /** The system bundle and what went into it. */
    public record SyslibsResult(BundleSummary summary, SharedLibraries.Closure closure) {}

    /**
     * The paper's system bundle: the shared libraries from outside the targets that the interpreter and its
     * extension modules load, placed in the bundle's {@code lib/} under the names the loader asks for, where
     * the rerouted LD_LIBRARY_PATH finds them first.
     */
    public static SyslibsResult syslibs(List<Path> targets, Output out) {
        return syslibs(targets, Optional.empty(), out);
    }

    /** @param run a shell command whose loaded libraries are added to the ldd closure (what dlopen brings in) */
    public static SyslibsResult syslibs(List<Path> targets, Optional<String> run, Output out) {
        SharedLibraries.Closure closure = SharedLibraries.of(targets, run);
        Path stage = null;
        try {
            stage = Files.createTempDirectory("nodecast-syslibs-");
            Path lib = Files.createDirectory(stage.resolve("lib"));
            for (Map.Entry<String, Path> e : closure.libraries().entrySet()) {
                Files.copy(e.getValue().toRealPath(), lib.resolve(e.getKey()), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            }
            BundleSpec spec = new BundleSpec(stage.toRealPath(), List.of(), Excludes.none(), PycMode.KEEP, false);
            return new SyslibsResult(out.writer().write(spec, out.file(), Map.of()), closure);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (stage != null) FileTrees.deleteQuietly(stage);
        }
    }

    private static BundleSummary write(BundleSpec spec, Optional<Path> compileWith, Output out) {
        if (spec.pyc() != PycMode.COMPILE || compileWith.isEmpty()) {
            return out.writer().write(spec, out.file(), Map.of());
        }
        Path staging = null;
        try {
            staging = Files.createTempDirectory("nodecast-pyc-");
            Map<Path, Path> compiled = PycCompiler.compileMissing(spec, compileWith.get(), staging);
            return out.writer().write(spec, out.file(), compiled);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (staging != null) FileTrees.deleteQuietly(staging);
        }
    }

    /**
     * A tree's original paths, all landing at DEST: as given (absolute) and, when a link leads there, its real path.
     */
    static List<Manifest.Origin> origins(Path given, Path real) {
        Path abs = given.toAbsolutePath().normalize();
        return abs.equals(real) ? List.of(new Manifest.Origin(real.toString(), ""))
                : List.of(new Manifest.Origin(real.toString(), ""), new Manifest.Origin(abs.toString(), ""));
    }

    /**
     * Tier 2: pip writes the interpreter that ran it into every script it installs ("#!PREFIX/bin/python3.11").
     * After rerouting that interpreter is DEST's (tier 1 is unpacked there too), so its prefix maps to DEST. The
     * system's own Python stays as it is: /usr is not a tier-1 prefix, and mapping it would rewrite every /usr path.
     */
    static Optional<Manifest.Origin> interpreterOrigin(Path python) {
        Path prefix = Path.of(run(List.of(python.toString(), "-c", "import sys; print(sys.prefix)"), "ask " + python + " for its prefix").strip());
        if (SYSTEM_PREFIXES.contains(prefix.toString())) return Optional.empty();
        return Optional.of(new Manifest.Origin(prefix.toString(), ""));
    }

    private static final java.util.Set<String> SYSTEM_PREFIXES = java.util.Set.of("/", "/usr", "/usr/local");

    /** Where an interpreter is installed: its {@code sys.base_prefix}. */
    public static Path prefixOf(Path python) {
        return Path.of(run(List.of(python.toString(), "-c", "import sys; print(sys.base_prefix)"), "ask " + python + " for its prefix").strip());
    }

    /** The prefix's own interpreter, if it has one. */
    public static Optional<Path> findPython(Path prefix) {
        for (String n : List.of("bin/python3", "bin/python")) {
            Path p = prefix.resolve(n);
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    private static Path realDir(Path p) {
        try {
            Path r = p.toRealPath();
            if (!Files.isDirectory(r)) throw new NodecastException(ExitCode.USAGE, p + " is not a directory");
            return r;
        } catch (IOException e) {
            throw new NodecastException(ExitCode.USAGE, p + " does not exist");
        }
    }

    static String run(List<String> cmd, String what) {
        return run(cmd, what, false);
    }

    /** Like {@link #run} but keeps the output of a command that failed; fails only if it cannot start. */
    static String runLenient(List<String> cmd, String what) {
        return run(cmd, what, true);
    }

    private static String run(List<String> cmd, String what, boolean lenient) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0 && !lenient) {
                // the line that says what went wrong, not pip's closing "see above"
                String last = output.strip().lines().filter(l -> l.matches("(?i).*\\berror\\b.*")).reduce((a, b) -> b)
                        .or(() -> output.strip().lines().reduce((a, b) -> b)).orElse("").strip();
                throw new NodecastException(ExitCode.TOOL, "could not " + what + ": '" + String.join(" ", cmd)
                        + "' exited with " + p.exitValue() + ": " + last);
            }
            return output;
        } catch (IOException e) {
            throw new NodecastException(ExitCode.TOOL, "could not " + what + ": cannot run " + cmd.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
        }
    }
}
