package io.nodecast.e2e;

import io.nodecast.testing.Launcher;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The distribution tarball a computing centre unpacks: it runs from there, without Maven and without building. */
class DistributionIT {
    @TempDir Path tmp;

    @Test
    void theDistributionRunsFromWhereverItIsUnpacked() throws Exception {
        String version = System.getProperty("nodecast.version");
        Path dist = Launcher.home().resolve("target/nodecast-" + version + ".tar.gz");
        assertThat(dist).exists();
        Trees.run(tmp, "tar", "-xzf", dist.toString());
        Path unpacked = tmp.resolve("nodecast-" + version);
        assertThat(unpacked.resolve("lib/nodecast.jar")).exists();
        assertThat(unpacked.resolve("activate.sh")).exists();
        Launcher.Result r = Launcher.exec(List.of(unpacked.resolve("bin/nodecast").toString(), "env", "-p", "/dev/shm/x"), Map.of());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("export PYTHONHOME='/dev/shm/x';");
        assertThat(r.err()).doesNotContain("building");
        Launcher.Result act = Launcher.exec(List.of("bash", "-c", "source " + unpacked.resolve("activate.sh") + " /dev/shm/x ''; type bcast; echo \"uses $_NODECAST\""), Map.of());
        assertThat(act.out()).contains("bcast is a function").contains("uses " + unpacked.resolve("bin/nodecast"));
        assertThat(Files.exists(Path.of("/dev/shm/x"))).isFalse();
    }
}
