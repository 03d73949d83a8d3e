package io.nodecast.bench;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Every benchmark in its quick mode, so that none of them rots between full runs. */
@Tag("python")
@Tag("strace")
class BenchQuickTest {
    @TempDir Path out;

    @Test
    void everyBenchmarkRunsAndWritesItsTableAndPlot() throws Exception {
        int code = new picocli.CommandLine(new Bench()).execute("--quick", "--out", out.toString());
        assertThat(code).isZero();
        for (String name : new String[] {"figure1", "delivery", "fixed", "bytecode", "model", "images"}) {
            assertThat(out.resolve(name + ".md")).content().contains("| ");
            assertThat(Files.size(out.resolve(name + ".png"))).isGreaterThan(1000);
        }
        assertThat(Files.readString(out.resolve("delivery.md"))).contains("GNU tar --zstd -xf", "nodecast bcast, local");
        assertThat(Files.readString(out.resolve("model.md"))).contains("| 10,000 | 2-ary tree");
        assertThat(Files.readString(out.resolve("formats.md"))).contains("| GNU tar -xJf | xz |", "| nodecast bcast (local), .tar.xz | xz |",
                "| GNU tar -xjf | bz2 |", "| nodecast bcast (local), .tar.bz2 | bz2 |");
    }
}
