package io.nodecast.cli;

import io.nodecast.format.Compression;
import io.nodecast.bundle.BundleSummary;
import io.nodecast.bundle.Bundles;
import io.nodecast.bundle.Excludes;
import io.nodecast.bundle.PycMode;
import io.nodecast.image.ImageBuilder;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

@Command(name = "bundle", header = "Make a bundle of one tier (a .tar.zst by default).",
        subcommands = {BundleCommand.Prefix.class, BundleCommand.Pip.class, BundleCommand.Userbase.class, BundleCommand.Dir.class,
                BundleCommand.Syslibs.class},
        synopsisSubcommandLabel = "(prefix | pip | userbase | dir | syslibs)")
public final class BundleCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "bundle: say what to bundle: prefix, pip, userbase, dir or syslibs");
    }

    /** Options every bundle kind takes. */
    static final class Common {
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE",
                description = "The bundle to write; its name picks the format: .tar.zst (default), .tar.gz, .tar.bz2, .tar.xz, .tar, "
                        + "or .sqfs (a squashfs image, mounted instead of unpacked; needs tar2sqfs).")
        Path output;

        @Option(names = "--exclude", paramLabel = "GLOB", description = "Leave out matching files (a name glob, or a path glob with '/'); repeatable.")
        List<String> excludes = new ArrayList<>();

        @Option(names = "--no-default-excludes", description = "Keep images, web pages, manuals and test data (excluded by default).")
        boolean noDefaultExcludes;

        @Option(names = "--pyc", paramLabel = "MODE", defaultValue = "compile",
                description = "Python bytecode: keep (ship what exists), drop (ship none, as the paper), compile (also compile what is "
                        + "missing, with the bundled interpreter). Default: ${DEFAULT-VALUE}.",
                converter = PycConverter.class)
        PycMode pyc;

        @Option(names = "--level", paramLabel = "N", defaultValue = "0", description = "Compression level (0: the format's default; zstd 3).")
        int level;

        @Option(names = "--threads", paramLabel = "N", description = "Compression threads for zstd (default: all cores).")
        Integer threads;

        @Option(names = "--python", paramLabel = "EXE", description = "The interpreter to ask (pip, user base, bytecode). Default: the prefix's own, else python3.")
        Path python;

        @Option(names = {"-q", "--quiet"}, description = "No progress bar, no summary line.")
        boolean quiet;

        @Option(names = {"-v", "--verbose"}, description = "Name every symbolic link made relative, followed or left out, "
                + "and every file that names the original prefix but cannot be relocated.")
        boolean verbose;

        Excludes excludes() {
            return Excludes.of(!noDefaultExcludes, excludes);
        }

        Path pythonOr(Path fallback) {
            return python != null ? python : fallback;
        }

        BundleSummary write(CommandSpec spec, long totalBytes, Function<Bundles.Output, BundleSummary> build) {
            return write(spec, totalBytes, build, Function.identity());
        }

        <T> T write(CommandSpec spec, long totalBytes, Function<Bundles.Output, T> build, Function<T, BundleSummary> summaryOf) {
            int workers = threads != null ? threads : Runtime.getRuntime().availableProcessors();
            boolean bar = !quiet && System.console() != null && totalBytes > 0;
            try (ProgressBar pb = bar ? new ProgressBarBuilder().setTaskName("bundling").setInitialMax(totalBytes)
                    .setStyle(ProgressBarStyle.ASCII).setUnit(" MiB", 1 << 20).showSpeed().build() : null) {
                // NAME.sqfs is the tar stream this command writes, converted into a squashfs image
                boolean image = ImageBuilder.wants(output);
                Path target = image ? ImageBuilder.tarFor(output) : output;
                T result;
                try {
                    result = build.apply(new Bundles.Output(target, image ? 1 : level, workers, n -> {
                        if (pb != null) pb.stepTo(n);
                    }));
                } catch (RuntimeException e) {
                    if (image) ImageBuilder.cleanUp(target);
                    throw e;
                }
                BundleSummary summary = summaryOf.apply(result);
                if (image) summary = ImageBuilder.convert(summary, output, level, workers);
                if (verbose) {
                    String name = output.getFileName().toString();
                    summary.notes().forEach(n -> spec.commandLine().getErr().println(name + ": " + n));
                }
                if (!quiet) spec.commandLine().getOut().println(summary.line());
                return result;
            }
        }
    }

    static final class PycConverter implements picocli.CommandLine.ITypeConverter<PycMode> {
        @Override
        public PycMode convert(String value) {
            return PycMode.valueOf(value.toUpperCase(java.util.Locale.ROOT));
        }
    }

    @Command(name = "prefix", header = "Tier 1: bundle an interpreter prefix (conda, pyenv) or a modules path.", description =
            "Its bin lib lib64 libexec sbin include share etc go in; RUNPATHs into the prefix are made relative.")
    static final class Prefix implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Common common;
        @Parameters(index = "0", paramLabel = "DIR", description = "The prefix.") Path dir;

        @Override
        public void run() {
            common.write(spec, measure(dir), out -> Bundles.prefix(dir, common.excludes(), common.pyc,
                    Optional.ofNullable(common.python), out));
        }

        private long measure(Path dir) {
            return System.console() == null ? 0 : CliSupport.treeBytes(dir);
        }
    }

    @Command(name = "pip", header = "Tier 2: bundle what 'pip install --prefix' puts in place.", description =
            "It works offline for local paths and wheels.")
    static final class Pip implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Common common;
        @Option(names = {"-r", "--requirement"}, paramLabel = "FILE", description = "A requirements file; repeatable.")
        List<Path> requirements = new ArrayList<>();
        @Option(names = "--pip-arg", paramLabel = "ARG", description = "An extra argument for pip (e.g. --no-index); repeatable.")
        List<String> pipArgs = new ArrayList<>();
        @Parameters(paramLabel = "PKG", arity = "0..*", description = "Packages: names, local paths, wheels.")
        List<String> packages = new ArrayList<>();

        @Override
        public void run() {
            common.write(spec, 0, out -> Bundles.pip(common.pythonOr(Path.of("python3")), packages, requirements, pipArgs,
                    common.excludes(), common.pyc, out));
        }
    }

    @Command(name = "userbase", header = "Tier 2: bundle the user's $PYTHONUSERBASE (what pip install --user installed).")
    static final class Userbase implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Common common;
        @Option(names = "--base", paramLabel = "DIR", description = "The user base (default: $PYTHONUSERBASE, else what Python says).")
        Path base;

        @Override
        public void run() {
            Optional<Path> b = Optional.ofNullable(base).or(() -> Optional.ofNullable(System.getenv("PYTHONUSERBASE"))
                    .filter(s -> !s.isBlank()).map(Path::of));
            common.write(spec, 0, out -> Bundles.userbase(b, common.pythonOr(Path.of("python3")), common.excludes(), common.pyc, out));
        }
    }

    @Command(name = "dir", header = "Tier 3: bundle an application tree, or only the named SUBDIRs of it.", description =
            "Paths in the bundle are relative to DIR.")
    static final class Dir implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Common common;
        @Parameters(index = "0", paramLabel = "DIR") Path dir;
        @Parameters(index = "1..*", paramLabel = "SUBDIR", arity = "0..*") List<Path> members = new ArrayList<>();

        @Override
        public void run() {
            common.write(spec, 0, out -> Bundles.dir(dir, members, common.excludes(), common.pyc,
                    Optional.ofNullable(common.python).or(() -> Optional.of(Path.of("python3"))), out));
        }
    }

    @Command(name = "syslibs", header = "Bundle the system libraries the interpreter and its extension modules load.", description =
            "These are the shared libraries from outside the given prefixes, in lib/; glibc and its loader stay the node's own.")
    static final class Syslibs implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Common common;
        @Parameters(paramLabel = "EXE|PREFIX", arity = "0..*",
                description = "ELF files, or directories searched for them. Default: the prefix of --python (else python3).")
        List<Path> targets = new ArrayList<>();

        @Option(names = "--run", paramLabel = "CMD", description = "Also run CMD (a shell command, e.g. 'python3 -c \"import numpy, "
                + "scipy, ssl, ctypes\"') and add the libraries it loads, dlopen included, that ldd cannot see.")
        String run;

        @Override
        public void run() {
            List<Path> from = targets.isEmpty() ? List.of(Bundles.prefixOf(common.pythonOr(Path.of("python3")))) : targets;
            var c = common.write(spec, 0, out -> Bundles.syslibs(from, Optional.ofNullable(run), out), Bundles.SyslibsResult::summary).closure();
            if (!common.quiet) {
                spec.commandLine().getOut().println(c.libraries().size() + " libraries: " + String.join(" ", c.libraries().keySet()));
                if (run != null) {
                    spec.commandLine().getOut().println(c.atRunTime().size() + " of them loaded only at run time: " + String.join(" ", c.atRunTime()));
                }
            }
            if (!c.missing().isEmpty()) {
                spec.commandLine().getErr().println("nodecast: warning: not found by the loader here (not bundled): " + String.join(" ", c.missing()));
            }
        }
    }
}
