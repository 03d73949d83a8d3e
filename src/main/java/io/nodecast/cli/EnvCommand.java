package io.nodecast.cli;

import io.nodecast.env.Defaults;
import io.nodecast.env.Language;
import io.nodecast.env.Shell;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;

@Command(name = "env", header = "Print the environment that reroutes the interpreter to DEST, for eval.", description = {
        "  eval \"$(nodecast env -p /dev/shm/local)\"",
        "python: PYTHONHOME=DEST, PYTHONPATH unset, PYTHONUSERBASE=DEST; r: R_HOME and R_LIBS*; julia: JULIA_DEPOT_PATH "
                + "and JULIA_LOAD_PATH; all: DEST/bin before PATH, DEST/lib before LD_LIBRARY_PATH."})
public final class EnvCommand implements Runnable {
    @Spec CommandSpec spec;

    @Option(names = {"-p", "--destination"}, paramLabel = "DEST", defaultValue = Defaults.DESTINATION,
            description = "The node-local copy (default ${DEFAULT-VALUE}).")
    String dest;

    @Option(names = "--lang", paramLabel = "LANG", defaultValue = "python", converter = EnvConverters.Languages.class,
            description = "python, r or julia (default ${DEFAULT-VALUE}).")
    Language lang;

    @Option(names = "--shell", paramLabel = "SHELL", defaultValue = "bash", converter = EnvConverters.Shells.class,
            description = "bash, zsh, csh or fish (default ${DEFAULT-VALUE}).")
    Shell shell;

    @Override
    public void run() {
        spec.commandLine().getOut().print(shell.render(lang.reroute(Path.of(dest).toAbsolutePath().normalize(), System.getenv())));
    }
}
