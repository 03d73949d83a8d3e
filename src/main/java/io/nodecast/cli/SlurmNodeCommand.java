package io.nodecast.cli;

import io.nodecast.image.ImageMode;
import io.nodecast.delivery.slurm.SlurmNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.Arrays;
import java.util.List;

/** The task per node of 'bcast --transport slurm' and 'purge --transport slurm'; not for users. */
@Command(name = "slurm-node", hidden = true, description = "One node's part of a delivery over Slurm (run by srun).")
public final class SlurmNodeCommand implements Runnable {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STEP", description = "prepare, receive or purge") String step;
    @Option(names = "-p", required = true) String destination;
    @Option(names = "--manifest") String manifest = "";
    @Option(names = "--sent") String sent = "";
    @Option(names = "--mode", defaultValue = "image") String mode;

    @Override
    public void run() {
        var env = System.getenv();
        String line = switch (step) {
            case "prepare" -> SlurmNode.prepare(destination, manifest, env);
            case "receive" -> SlurmNode.receive(destination, manifest, sent.isEmpty() ? List.of()
                    : Arrays.stream(sent.split(",")).map(Integer::valueOf).toList(), ImageMode.parse(mode), env);
            case "purge" -> SlurmNode.purge(destination, env);
            default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(), "slurm-node: prepare, receive or purge");
        };
        spec.commandLine().getOut().println(line);
        spec.commandLine().getOut().flush();
    }
}
