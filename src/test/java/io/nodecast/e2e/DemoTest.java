package io.nodecast.e2e;

import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's first command, as a user runs it. */
@Tag("python")
@Tag("strace")
class DemoTest {
    @Test
    void theDemoShowsZeroCallsToTheSharedPrefixAndCleansUp() throws IOException {
        Launcher.Result r = Launcher.run(Map.of(), "demo", "--runs", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        String under = r.out().lines().filter(l -> l.contains("of them under")).findFirst().orElseThrow();
        List<String> cols = List.of(under.strip().split("\\s+"));
        assertThat(Long.parseLong(cols.get(cols.size() - 2))).as("calls under the prefix from the shared start").isGreaterThan(1000);
        assertThat(cols.getLast()).as("calls under the prefix from the local copy").isEqualTo("0");
        assertThat(r.out()).contains("from the local copy:", "/dev/shm/nodecast-demo-");
        try (Stream<Path> shm = Files.list(Path.of("/dev/shm")); Stream<Path> tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertThat(Stream.concat(shm, tmp).map(p -> p.getFileName().toString()).filter(n -> n.startsWith("nodecast-demo")).toList()).isEmpty();
        }
    }
}
