package io.nodecast.e2e;

import io.nodecast.testing.Launcher;
import io.nodecast.testing.TarBuilder;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The tier-2 and tier-3 builders and the python-mpi interface, through the real launcher. */
class BundleKindsTest {
    @TempDir Path tmp;

    private String list(Path bundle) throws Exception {
        return Trees.run(tmp, "tar", "--zstd", "-tf", bundle.toString());
    }

    @Test
    void pipBundlesALocalWheelWithNoIndex() throws Exception {
        Path wheel = tmp.resolve("mypkg-1.0-py3-none-any.whl");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(wheel))) {
            put(z, "mypkg/__init__.py", "VALUE = 42\n");
            put(z, "mypkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: mypkg\nVersion: 1.0\n");
            put(z, "mypkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n");
            put(z, "mypkg-1.0.dist-info/RECORD", "");
        }
        Path out = tmp.resolve("tier2.tar.zst");
        Launcher.Result r = Launcher.run(Map.of(), "bundle", "pip", "--pip-arg=--no-index", "-o", out.toString(), wheel.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("tier2.tar.zst:", "files");
        assertThat(list(out)).contains("lib/python3.11/site-packages/mypkg/__init__.py",
                "lib/python3.11/site-packages/mypkg/__pycache__/__init__.cpython-311.pyc");
    }

    @Test
    void pipFailureSaysWhy() {
        Launcher.Result r = Launcher.run(Map.of(), "bundle", "pip", "--pip-arg=--no-index", "-o", tmp.resolve("x.tar.zst").toString(),
                "no-such-package-anywhere");
        assertThat(r.exit()).isEqualTo(9);
        assertThat(r.err()).contains("no-such-package-anywhere").containsIgnoringCase("error");
        assertThat(tmp.resolve("x.tar.zst")).doesNotExist();
    }

    private static void put(ZipOutputStream z, String name, String text) throws Exception {
        z.putNextEntry(new ZipEntry(name));
        z.write(text.getBytes(StandardCharsets.UTF_8));
        z.closeEntry();
    }

    @Test
    void userbaseAndCompiledBytecodeThatPythonUses() throws Exception {
        Path base = Files.createDirectories(tmp.resolve("ub/lib/python3.11/site-packages/mine"));
        Files.writeString(base.resolve("__init__.py"), "ANSWER = 42\n");
        Path out = tmp.resolve("ub.tar.zst");
        Launcher.Result r = Launcher.run(Map.of(), "bundle", "userbase", "--base", tmp.resolve("ub").toString(), "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("1 modules compiled");
        assertThat(base.resolve("__pycache__")).as("the source tree is left untouched").doesNotExist();
        Path dest = tmp.resolve("dest");
        assertThat(Launcher.run(Map.of(), "bcast", "-p", dest.toString(), out.toString()).exit()).isZero();
        Launcher.Result py = Launcher.exec(List.of("python3", "-v", "-c", "import mine; print(mine.ANSWER)"),
                Map.of("PYTHONPATH", dest.resolve("lib/python3.11/site-packages").toString(), "PYTHONDONTWRITEBYTECODE", "1"));
        assertThat(py.out()).contains("42");
        assertThat(py.err()).as("python -v names the bytecode it used").contains("matches " + dest.resolve("lib/python3.11/site-packages/mine/__init__.py"))
                .contains("code object from '" + dest.resolve("lib/python3.11/site-packages/mine/__pycache__/__init__.cpython-311.pyc"));
    }

    @Test
    void pycDropAndKeep() throws Exception {
        Path app = Files.createDirectories(tmp.resolve("app/bin"));
        Files.writeString(app.resolve("main.py"), "print(1)\n");
        Path keep = tmp.resolve("keep.tar.zst");
        assertThat(Launcher.run(Map.of(), "bundle", "dir", tmp.resolve("app").toString(), "--pyc", "keep", "-o", keep.toString()).exit()).isZero();
        assertThat(list(keep)).doesNotContain(".pyc");
        Path compiled = tmp.resolve("compiled.tar.zst");
        assertThat(Launcher.run(Map.of(), "bundle", "dir", tmp.resolve("app").toString(), "-o", compiled.toString()).exit()).isZero();
        assertThat(list(compiled)).contains("bin/__pycache__/main.cpython-311.pyc");
        assertThat(Launcher.run(Map.of(), "bundle", "dir", tmp.resolve("app").toString(), "--pyc", "sometimes", "-o", keep.toString()).exit()).isEqualTo(2);
    }

    @Test
    void thePythonMpiVariablesStillWork() throws Exception {
        new TarBuilder().file("2.7.9/lib/python2.7/os.py", "# os\n").writeTo(tmp.resolve("python-2.7.9.tar"));
        new TarBuilder().file("2.7.9/lib/python2.7/site-packages/numpy/__init__.py", "# numpy\n").writeTo(tmp.resolve("numpy-1.9.2.tar"));
        Path chroot = tmp.resolve("chroot");
        Launcher.Result r = Launcher.run(Map.of("PYTHON_MPI_CHROOT", chroot.toString(), "PYTHON_MPI_PKGROOT", tmp.toString(),
                "PYTHON_MPI_PACKAGES", "python-2.7.9.tar:numpy-1.9.2.tar"), "bcast");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(chroot.resolve("2.7.9/lib/python2.7/os.py")).exists();
        assertThat(chroot.resolve("2.7.9/lib/python2.7/site-packages/numpy/__init__.py")).exists();
        Launcher.Result none = Launcher.run(Map.of(), "bcast");
        assertThat(none.exit()).isEqualTo(2);
        assertThat(none.err()).contains("PYTHON_MPI_PACKAGES");
    }
}
