package io.nodecast.cli;

import io.nodecast.env.Activation;
import io.nodecast.env.Language;
import io.nodecast.delivery.slurm.SlurmSteps;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;

@Command(name = "activate", header = "Print the shell code that 'source activate.sh DEST LAUNCHER' runs (bash, zsh).", description = {
        "It prints the rerouted environment; the functions bcast, mirror, bcast-userbase, bcast-pip, bundle-pip and "
                + "bundle-anaconda; and an exit trap that purges DEST on every node through LAUNCHER (empty: this node only)."})
public final class ActivateCommand implements Runnable {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DEST") Path dest;
    @Parameters(index = "1", paramLabel = "LAUNCHER", arity = "0..1", defaultValue = "") String launcher;

    @Option(names = "--lang", paramLabel = "LANG", defaultValue = "python", converter = EnvConverters.Languages.class,
            description = "python, r or julia (default ${DEFAULT-VALUE}).")
    Language lang;

    @Override
    public void run() {
        Path home = Path.of(System.getProperty("nodecast.home", ".")).toAbsolutePath().normalize();
        // srun steps without MPI deliver with sbcast
        boolean viaSlurm = SlurmSteps.withoutMpi(launcher, System.getenv(), SlurmSteps::mpiDefault);
        spec.commandLine().getOut().print(Activation.script(dest.toAbsolutePath().normalize(), launcher,
                home.resolve("bin/nodecast"), lang, System.getenv(), viaSlurm));
    }
}
