package io.nodecast.bundle;

import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ElfRunpathTest {
    @TempDir Path tmp;

    @Test
    void rewritesOnlyElementsInsideThePrefix() {
        Path prefix = Path.of("/opt/conda");
        assertThat(ElfRunpath.rewrite("/opt/conda/lib:/usr/lib64:$ORIGIN/x", prefix, Path.of("bin/python3")))
                .isEqualTo("$ORIGIN/../lib:/usr/lib64:$ORIGIN/x");
        assertThat(ElfRunpath.rewrite("/opt/conda/lib", prefix, Path.of("lib/libfoo.so"))).isEqualTo("$ORIGIN");
        assertThat(ElfRunpath.rewrite("/opt/condaX/lib", prefix, Path.of("bin/p"))).isEqualTo("/opt/condaX/lib");
    }

    @Test
    void patchesTheRealInterpretersRunpathInPlace() throws Exception {
        Path python = Path.of(PythonPrefix.executable());
        Path prefix = Path.of(PythonPrefix.prefix());
        String before = Trees.run(tmp, "readelf", "-d", python.toString());
        assertThat(before).as("the test needs an interpreter linked with -rpath into its prefix").contains("[" + prefix + "/lib]");
        byte[] data = Files.readAllBytes(python);
        assertThat(ElfRunpath.relocate(data, prefix, prefix.relativize(python))).isTrue();
        Path copy = Files.write(tmp.resolve("python-copy"), data);
        String after = Trees.run(tmp, "readelf", "-d", copy.toString());
        assertThat(after).contains("[$ORIGIN/../lib]").doesNotContain(prefix.toString());
        assertThat(data.length).isEqualTo(Files.size(python));
    }
}
