package io.nodecast.image;

import io.nodecast.testing.Cli;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.MpiRun;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** An image and a tar bundle over real MPI to simulated nodes: each leader mounts its own, and the purge unmounts all. */
@Tag("images")
@Tag("mpi")
class ImageMpiTest {
    @TempDir Path tmp;

    @BeforeEach
    void tools() {
        Images.assumeFuse();
    }

    @AfterEach
    void detach() {
        Images.detachAll(tmp);
    }

    private Path bundle(String name, String file, String content) throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src-" + name + "/lib"));
        Files.writeString(src.resolve(file), content);
        Cli r = Cli.run("bundle", "dir", src.getParent().toString(), "-q", "--pyc", "keep", "-o", tmp.resolve(name).toString());
        assertThat(r.exit()).as(r.err()).isZero();
        return tmp.resolve(name);
    }

    @ParameterizedTest
    @EnumSource(MpiRun.class)
    void everyNodeMountsTheImageUnderItsOwnOverlayAndThePurgeUnmountsThemAll(MpiRun mpi) throws IOException {
        Files.createDirectories(tmp.resolve("src-tier1.sqfs/lib"));
        Files.writeString(tmp.resolve("src-tier1.sqfs/lib/a.py"), "image");
        Path image = bundle("tier1.sqfs", "b.py", "image");
        Path tier2 = bundle("tier2.tar.zst", "b.py", "tier2");
        String dest = tmp.resolve("nodes/%h").toString();
        Launcher.Result r = mpi.run(4, 2, "bcast", "-t", "-p", dest, image.toString(), tier2.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("4 ranks on 2 nodes", "tier1.sqfs");
        List<Path> nodes;
        try (var s = Files.list(tmp.resolve("nodes"))) {
            nodes = s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
        }
        assertThat(nodes).hasSize(2);
        for (Path n : nodes) {
            assertThat(n.resolve("lib/a.py")).hasContent("image");
            assertThat(n.resolve("lib/b.py")).hasContent("tier2");
        }
        assertThat(Images.mountsUnder(tmp)).hasSize(4);

        Launcher.Result purge = mpi.run(4, 2, "purge", "-p", dest);
        assertThat(purge.exit()).as(purge.err()).isZero();
        assertThat(Images.mountsUnder(tmp)).isEmpty();
        try (var s = Files.list(tmp.resolve("nodes"))) {
            assertThat(s.toList()).isEmpty();
        }
    }
}
