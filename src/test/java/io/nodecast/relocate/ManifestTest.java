package io.nodecast.relocate;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ManifestTest {
    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void roundTripsOddNames() {
        Manifest m = new Manifest(
                List.of(new Manifest.Origin("/opt/my apps/py 3%", ""), new Manifest.Origin("/usr/share/R/share", "lib/R/share")),
                List.of(new Manifest.Entry(Manifest.Kind.SHEBANG, "bin/pip3"),
                        new Manifest.Entry(Manifest.Kind.TEXT, "lib/naïve dir/line\nbreak.pc"),
                        new Manifest.Entry(Manifest.Kind.CSTRING, "lib/libpython3.11.so.1.0")));
        byte[] b = m.encode();
        String text = new String(b, StandardCharsets.US_ASCII);
        assertThat(text).startsWith("nodecast-bundle 1\n")
                .contains("map /opt/my%20apps/py%203%25 .\n", "map /usr/share/R/share lib/R/share\n",
                        "shebang bin/pip3\n", "text lib/na%C3%AFve%20dir/line%0Abreak.pc\n", "cstring lib/libpython3.11.so.1.0\n");
        assertThat(Manifest.decode(b)).isEqualTo(m);
    }

    @Test
    void commentsAndBlankLinesAreSkipped() {
        Manifest m = Manifest.decode(ascii("nodecast-bundle 1\n# made by hand\n\nmap /p .\ntext a/b\n"));
        assertThat(m.origins()).containsExactly(new Manifest.Origin("/p", ""));
        assertThat(m.files()).containsExactly(new Manifest.Entry(Manifest.Kind.TEXT, "a/b"));
    }

    @Test
    void aNewerVersionIsRefusedNotHalfApplied() {
        assertThatThrownBy(() -> Manifest.decode(ascii("nodecast-bundle 2\nmap /p .\n")))
                .isInstanceOf(NodecastException.class).hasMessageContaining("version '2'").hasMessageContaining("newer nodecast");
        assertThatThrownBy(() -> Manifest.decode(ascii("nodecast-bundle 1\nmap /p .\nsymlink a\n")))
                .hasMessageContaining("line 3: unknown record 'symlink'");
    }

    @Test
    void hostilePathsAreRefused() {
        for (String bad : List.of("text ../etc/passwd", "text /etc/passwd", "text a/../../b", "text a//b", "text ./a",
                "text a/%00b", "map / .", "map relative .", "map /p ../up", "map /p/../q .", "text", "map /p", "text a b")) {
            assertThatThrownBy(() -> Manifest.decode(ascii("nodecast-bundle 1\nmap /ok .\n" + bad + "\n")))
                    .as(bad).isInstanceOf(NodecastException.class)
                    .satisfies(e -> assertThat(((NodecastException) e).exitCode()).isEqualTo(ExitCode.BUNDLE))
                    .hasMessageContaining(".nodecast-bundle");
        }
    }

    @Test
    void bytesOutsidePrintableAsciiAreRefused() {
        assertThatThrownBy(() -> Manifest.decode("nodecast-bundle 1\ntext caf\u00e9\n".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("outside printable ASCII");
        assertThatThrownBy(() -> Manifest.decode(ascii("nodecast-bundle 1\r\n"))).hasMessageContaining("outside printable ASCII");
    }

    @Test
    void sizeIsBounded() {
        byte[] big = new byte[Manifest.MAX_BYTES + 1];
        assertThatThrownBy(() -> Manifest.decode(big)).hasMessageContaining("over the limit of " + Manifest.MAX_BYTES);
    }

    @Test
    void duplicatesAndFilesWithoutAnOriginAreRefused() {
        assertThatThrownBy(() -> Manifest.decode(ascii("nodecast-bundle 1\nmap /p .\ntext a\ncstring a\n"))).hasMessageContaining("twice");
        assertThatThrownBy(() -> Manifest.decode(ascii("nodecast-bundle 1\ntext a\n"))).hasMessageContaining("no original path");
        assertThatThrownBy(() -> Manifest.decode(ascii("#!/bin/sh\n"))).hasMessageContaining("does not start with");
    }

    @Test
    void emptyManifestMeansNothingToDo() {
        Manifest m = Manifest.decode(Manifest.empty().encode());
        assertThat(m.isEmpty()).isTrue();
        assertThat(new String(Manifest.empty().encode(), StandardCharsets.US_ASCII)).isEqualTo("nodecast-bundle 1\n");
    }
}
