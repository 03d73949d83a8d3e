package io.nodecast.e2e;

import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** bundle syslibs --run: the libraries a run loads with dlopen, which ldd cannot see, reach the nodes too. */
@Tag("python")
class SyslibsRunTest {
    @TempDir Path tmp;

    @Test
    void aLibraryOpenedByCtypesIsBundledAndLoadedFromTheLocalCopy() throws Exception {
        // libzstd: on this machine no ELF file of the Python prefix links against it; only ctypes opens it
        Path app = Files.createDirectories(tmp.resolve("app"));
        Files.writeString(app.resolve("zstdmod.py"), """
                import ctypes
                lib = ctypes.CDLL("libzstd.so.1")
                VERSION = lib.ZSTD_versionNumber()
                """);
        String python = RealPython.prefix().resolve("bin/python3").toString();
        String load = python + " -c 'import sys; sys.path.insert(0, \"" + app + "\"); import zstdmod'";
        String prefix = RealPython.prefix().toString();

        Path plain = tmp.resolve("plain.tar.zst");
        Launcher.Result p = Launcher.run(Map.of(), "bundle", "syslibs", "-o", plain.toString(), prefix);
        assertThat(p.exit()).as(p.err()).isZero();
        assertThat(p.out()).as("ldd alone does not see it").doesNotContain("libzstd.so.1");

        Path sys = tmp.resolve("syslibs.tar.zst");
        Launcher.Result r = Launcher.run(Map.of(), "bundle", "syslibs", "--run", load, "-o", sys.toString(), prefix);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("loaded only at run time: libzstd.so.1").contains("libssl.so.3");

        Path dest = tmp.resolve("dest");
        Launcher.Result b = Launcher.run(Map.of(), "bcast", "-p", dest.toString(), sys.toString());
        assertThat(b.exit()).as(b.err()).isZero();
        assertThat(dest.resolve("lib/libzstd.so.1")).isRegularFile();
        String maps = "import sys; sys.path.insert(0, '" + app + "'); import zstdmod\n"
                + "print('\\n'.join(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libzstd' in l})))";
        Launcher.Result run = Launcher.exec(List.of("env", "LD_LIBRARY_PATH=" + dest.resolve("lib"), python, "-c", maps), Map.of());
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out().lines().toList()).containsExactly(dest.resolve("lib/libzstd.so.1").toString());
    }

    @Test
    void aCommandThatFailsFailsTheBundleWithItsMessage() {
        Path out = tmp.resolve("x.tar.zst");
        Launcher.Result r = Launcher.run(Map.of(), "bundle", "syslibs", "--run", "echo boom >&2; exit 3", "-o", out.toString(),
                RealPython.prefix().toString());
        assertThat(r.exit()).isEqualTo(9);
        assertThat(r.err()).contains("exited with 3").contains("boom");
        assertThat(out).doesNotExist();
    }
}
