package io.nodecast.bench;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The test-bed benchmarks in their quick mode, so that they cannot rot either. */
@Tag("cluster")
class ClusterBenchQuickTest {
    @TempDir Path out;

    @Test
    void theTestBedBenchmarksRunAndWriteTheirTablesAndPlots() throws Exception {
        int code = new picocli.CommandLine(new Bench()).execute("--quick", "--out", out.toString(), "cluster-delivery", "cluster-scaling",
                "cluster-skip", "cluster-fixed", "startup");
        assertThat(code).isZero();
        for (String name : new String[] {"cluster-delivery", "cluster-scaling", "cluster-skip", "cluster-fixed", "startup"}) {
            assertThat(out.resolve(name + ".md")).content().contains("| ");
            assertThat(Files.size(out.resolve(name + ".png"))).isGreaterThan(1000);
        }
        assertThat(Files.readString(out.resolve("cluster-delivery.md"))).contains("pipelined (nodecast)", "MPI_Ibcast");
        assertThat(out.resolve("cluster-scaling.csv")).content().contains("2,auto,", "2,ibcast,");
        // the hosts' CPU over the step: a JVM on each host keeps some share of the 2 cores busy, never none
        String two = Files.readString(out.resolve("cluster-scaling.md")).lines().filter(l -> l.startsWith("| 2 |")).findFirst().orElseThrow();
        java.util.regex.Matcher busy = java.util.regex.Pattern.compile("\\| (\\d+)% \\|").matcher(two);
        assertThat(busy.find()).as(two).isTrue();
        assertThat(Integer.parseInt(busy.group(1))).as(two).isBetween(1, 110);
        // the hosts that have the bundle: the launcher's and MPI's bytes only, the new one the whole bundle
        String skipped = Files.readString(out.resolve("cluster-skip.md")).lines().filter(l -> l.startsWith("| to n1..n3, n1 and n2 have it")).findFirst().orElseThrow();
        assertThat(skipped).contains("| 2 of 3 |");
        // after rerouting, the ranks leave the shared file system alone: only the bcast's handful of operations
        String row = Files.readString(out.resolve("startup.md")).lines().filter(l -> l.startsWith("| 3 |")).findFirst().orElseThrow();
        String[] cells = row.split("\\|");
        assertThat(Long.parseLong(cells[3].strip())).as("metadata ops of the direct start").isGreaterThan(1000);
        assertThat(Long.parseLong(cells[5].strip())).as("metadata ops of bcast + run").isLessThan(50);
    }
}
