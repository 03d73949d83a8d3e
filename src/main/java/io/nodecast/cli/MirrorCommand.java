package io.nodecast.cli;

import io.nodecast.delivery.BundleRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "mirror", header = "Bundle an application tree now and deliver it (tier 3), as the paper's mirror.", description = {
        "Run it through the launcher: only rank 0 reads DIR (or its SUBDIRs), into a bundle in its own DEST, and broadcasts it.",
        "Refuses a tree larger than --max-size: an application that big belongs in a tier-2 bundle."})
public final class MirrorCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin BcastCommand.DeliveryOptions delivery;

    @Option(names = "--max-size", paramLabel = "SIZE", defaultValue = "50M", converter = SizeConverter.class,
            description = "Largest tree mirrored (default ${DEFAULT-VALUE}; 'none' for no limit).")
    long maxSize;

    @Parameters(index = "0", paramLabel = "DIR") Path dir;
    @Parameters(index = "1..*", paramLabel = "SUBDIR", arity = "0..*") List<Path> members = new ArrayList<>();

    @Override
    public Integer call() {
        long max = maxSize;
        Path root = dir.toAbsolutePath().normalize();
        return delivery.run(spec, delivery.destination, () -> List.of(new BundleRef.Tree(root, members, max)));
    }
}
