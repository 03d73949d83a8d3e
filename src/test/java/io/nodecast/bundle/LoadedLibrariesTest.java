package io.nodecast.bundle;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class LoadedLibrariesTest {
    @Test
    void aSearchedLibraryIsTheLastFileTriedAndAnOpenedOneItsPath() {
        String log = """
                      1838:\tfile=libbz2.so.1.0 [0];  needed by /p/lib/_bz2.so [0]
                      1838:\tfind library=libbz2.so.1.0 [0]; searching
                      1838:\t  trying file=/p/lib/libbz2.so.1.0
                      1838:\t search cache=/etc/ld.so.cache
                      1838:\t  trying file=/lib/x86_64-linux-gnu/libbz2.so.1.0
                      1838:\t
                      1838:\tfile=libbz2.so.1.0 [0];  generating link map
                      1838:\t  dynamic: 0x00007f71900fdc60  base: 0x00007f71900ec000   size: 0x0000000000012c28
                      1838:\tfile=/opt/x/libplugin.so [0];  dynamically loaded by /p/lib/libpython3.11.so [0]
                      1838:\tfile=/opt/x/libplugin.so [0];  generating link map
                      1838:\tfind library=libmissing.so.1 [0]; searching
                      1838:\t  trying file=/lib/x86_64-linux-gnu/libmissing.so.1
                """;
        assertThat(LoadedLibraries.parse(log)).containsExactly(
                Map.entry("libbz2.so.1.0", Path.of("/lib/x86_64-linux-gnu/libbz2.so.1.0")),
                Map.entry("libplugin.so", Path.of("/opt/x/libplugin.so")));
    }
}
