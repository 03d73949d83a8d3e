package io.nodecast.env;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Cli;
import io.nodecast.testing.TarBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class PurgeTest {
    @TempDir Path tmp;

    @Test
    void removesADestinationWithReadOnlyDirectoriesAndIsIdempotent() {
        Path dest = tmp.resolve("local");
        Path b = new TarBuilder().dir("ro", 0555).file("ro/f", "x", 0444).writeTo(tmp.resolve("b.tar"));
        assertThat(Cli.run("bcast", "-p", dest.toString(), b.toString()).exit()).isZero();
        assertThat(Cli.run("purge", "-p", dest.toString()).exit()).isZero();
        assertThat(dest).doesNotExist();
        assertThat(Cli.run("purge", "-p", dest.toString()).exit()).isZero();
    }

    @Test
    void refusesWhatIsNotANodecastDestination() throws Exception {
        Path precious = Files.createDirectories(tmp.resolve("precious"));
        Files.writeString(precious.resolve("thesis.tex"), "years of work");
        Cli r = Cli.run("purge", "-p", precious.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.DESTINATION.code());
        assertThat(r.err()).contains(precious.toString(), "not a nodecast destination");
        assertThat(precious.resolve("thesis.tex")).exists();
        assertThat(Cli.run("purge", "-p", "/").exit()).isEqualTo(ExitCode.DESTINATION.code());
    }
}
