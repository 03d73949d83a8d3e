package io.nodecast.bundle;

import io.nodecast.format.Compression;
import io.nodecast.relocate.Manifest;
import io.nodecast.unpack.UnpackSummary;
import io.nodecast.unpack.Destination;
import io.nodecast.unpack.Extractor;
import io.nodecast.format.ChunkInputs;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What a bundle's relocation list says about a prefix, and the round trip through unpack and relocation. */
class BundleRelocationTest {
    @TempDir Path tmp;
    Path prefix;
    String p;

    @BeforeEach
    void prefix() throws IOException {
        prefix = Files.createDirectories(tmp.resolve("opt/py-3.11"));
        p = prefix.toString();
        Files.createDirectories(prefix.resolve("bin"));
        Files.createDirectories(prefix.resolve("lib/pkgconfig"));
        Files.createDirectories(prefix.resolve("lib/python3.11/__pycache__"));
        Files.writeString(prefix.resolve("bin/tool"), "#!" + p + "/bin/python3.11\nimport tool\n");
        Files.writeString(prefix.resolve("bin/tool-config"), "#!/bin/sh\nprefix=\"" + p + "\"\necho $prefix\n");
        Files.createLink(prefix.resolve("bin/tool-config-3"), prefix.resolve("bin/tool-config"));
        Files.writeString(prefix.resolve("pyvenv.cfg"), "home = " + p + "/bin\ninclude-system-site-packages = false\n");
        Files.writeString(prefix.resolve("lib/pkgconfig/py.pc"), "prefix=" + p + "\nlibdir=${prefix}/lib\n");
        Files.writeString(prefix.resolve("lib/python3.11/_sysconfigdata__linux.py"), "build_time_vars = {'prefix': '" + p + "'}\n");
        Files.writeString(prefix.resolve("lib/python3.11/elsewhere.txt"), "a sibling: " + p + "-dbg/lib\n");
        Files.write(prefix.resolve("lib/libpy.so"), bytes("\u007fELF\u0002\u0001\0\0" + p + "/lib/python3.11\0"));
        Files.write(prefix.resolve("lib/libpy.a"), bigArchive());
        Files.write(prefix.resolve("lib/data.zip"), bytes("PK\u0003\u0004\0" + p + "\0"));
        Files.write(prefix.resolve("lib/python3.11/__pycache__/m.cpython-311.pyc"), bytes("\u00a7\r\r\n\0" + p + "/lib/m.py"));
    }

    /**
     * Where {@link #bigArchive} names the prefix: across and beside the 1 MiB pieces relocation scans a binary in, and
     * across the end of the bytes read with a piece (a path's length, its next byte and the 7 of a C string's tail).
     */
    private int[] at() {
        int piece = 1 << 20, window = bytes(p).length + 8;
        return new int[] {9, piece - 40, piece + window - 3, piece + 300, 2 * piece - 40, 2 * piece + window - 3, (3 << 20) - 200};
    }

    /** A static library of 3 MiB naming the prefix at {@link #at}, each path followed by a NUL or a longer string. */
    private byte[] bigArchive() {
        byte[] a = new byte[3 << 20];
        for (int i = 0; i < a.length; i++) a[i] = (byte) ('a' + i % 23);
        System.arraycopy(bytes("!<arch>\n\0"), 0, a, 0, 9);
        int[] at = at();
        for (int k = 0; k < at.length; k++) {
            byte[] path = bytes("\0" + p + (k % 2 == 0 ? "/include\0" : "/lib/python3.11/config\0"));
            System.arraycopy(path, 0, a, at[k] - 1, path.length);
        }
        return a;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private BundleSummary bundle(Path out) {
        BundleSpec spec = new BundleSpec(prefix, List.of(), Excludes.none(), PycMode.KEEP, true)
                .withRelocation(List.of(new Manifest.Origin(p, "")));
        return new BundleWriter(Compression.ZSTD, 0, 2, n -> { }).write(spec, out, Map.of());
    }

    private static byte[] firstEntry(Path bundle, String[] name) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(bundle));
             TarArchiveInputStream tar = new TarArchiveInputStream(Compression.ZSTD.decompress(in))) {
            name[0] = tar.getNextEntry().getName();
            return tar.readAllBytes();
        }
    }

    @Test
    void theListComesFirstAndSaysHowEachFileIsRewritten() throws IOException {
        Path b = tmp.resolve("b.tar.zst");
        BundleSummary s = bundle(b);
        String[] name = new String[1];
        Manifest m = Manifest.decode(firstEntry(b, name));
        assertThat(name[0]).isEqualTo(".nodecast-bundle");
        assertThat(m.origins()).containsExactly(new Manifest.Origin(p, ""));
        assertThat(m.files()).containsExactlyInAnyOrder(
                new Manifest.Entry(Manifest.Kind.SHEBANG, "bin/tool"),
                new Manifest.Entry(Manifest.Kind.SHEBANG, "bin/tool-config"),
                new Manifest.Entry(Manifest.Kind.SHEBANG, "bin/tool-config-3"),
                new Manifest.Entry(Manifest.Kind.TEXT, "pyvenv.cfg"),
                new Manifest.Entry(Manifest.Kind.TEXT, "lib/pkgconfig/py.pc"),
                new Manifest.Entry(Manifest.Kind.TEXT, "lib/python3.11/_sysconfigdata__linux.py"),
                new Manifest.Entry(Manifest.Kind.CSTRING, "lib/libpy.so"),
                new Manifest.Entry(Manifest.Kind.CSTRING, "lib/libpy.a"));
        assertThat(s.relocatable()).isEqualTo(8);
        assertThat(s.notes()).hasSize(2).contains("lib/data.zip: names an original path inside a binary format nodecast does not rewrite; not relocated");
        assertThat(s.notes().getLast()).startsWith("relocation list: 8 files name [" + p + "] (scanned in ");
    }

    /** With no writer thread (the parser writes, and patches) and with two (they write the patches the parser found). */
    @ParameterizedTest(name = "writers {0}")
    @ValueSource(ints = {0, 2})
    void unpackedAndRelocatedTheCopyNamesItsNewHome(int writers) throws IOException {
        Path b = tmp.resolve("b.tar.zst");
        bundle(b);
        Path dest = tmp.resolve("d");  // shorter than the prefix: the binaries are patched too
        List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
        Extractor.Options o = new Extractor.Options(writers, 0, said::add, true);
        UnpackSummary summary = new Extractor(Destination.prepare(dest.toString(), "h"), o).extract(ChunkInputs.of(b, 1 << 16), "b");
        assertThat(summary.manifest()).as("the extractor hands the list over").isNotNull();
        assertThat(said).as("the extractor relocates as it writes, and says so with -v")
                .anyMatch(l -> l.startsWith("b: relocated to " + dest + ": 8 of the 8 files that name " + p + " (8 as they were unpacked, "));
        assertThat(Files.getAttribute(dest.resolve("bin/tool-config-3"), "unix:ino"))
                .as("relocated where it was written, the hard link stays one file").isEqualTo(Files.getAttribute(dest.resolve("bin/tool-config"), "unix:ino"));
        assertThat(dest.resolve(Manifest.ENTRY_NAME)).doesNotExist();
        assertThat(Files.readString(dest.resolve("bin/tool"))).isEqualTo("#!" + dest + "/bin/python3.11\nimport tool\n");
        assertThat(Files.readString(dest.resolve("bin/tool-config-3"))).contains("prefix=\"" + dest + "\"");
        assertThat(Files.readString(dest.resolve("pyvenv.cfg"))).startsWith("home = " + dest + "/bin\n");
        assertThat(Files.readString(dest.resolve("lib/pkgconfig/py.pc"))).startsWith("prefix=" + dest + "\n");
        assertThat(Files.readString(dest.resolve("lib/python3.11/_sysconfigdata__linux.py"))).contains("'prefix': '" + dest + "'");
        assertThat(Files.readString(dest.resolve("lib/python3.11/elsewhere.txt"))).as("not a whole path").contains(p + "-dbg");
        String so = new String(Files.readAllBytes(dest.resolve("lib/libpy.so")), StandardCharsets.ISO_8859_1);
        assertThat(so).doesNotContain(p).contains(dest + "/lib/python3.11\0");
        assertThat(Files.size(dest.resolve("lib/libpy.so"))).isEqualTo(Files.size(prefix.resolve("lib/libpy.so")));
        byte[] a = Files.readAllBytes(dest.resolve("lib/libpy.a"));
        byte[] before = Files.readAllBytes(prefix.resolve("lib/libpy.a"));
        assertThat(a).as("scanned in pieces, patched as if read whole").isEqualTo(
                ((io.nodecast.relocate.Rewrite.Result.Changed) io.nodecast.relocate.Rewrite.cstring(before,
                        List.of(io.nodecast.relocate.Rewrite.Mapping.of(p, dest.toString())))).bytes());
        String archive = new String(a, StandardCharsets.ISO_8859_1);
        assertThat(archive).doesNotContain(p);
        String pad = "/".repeat(p.length() - dest.toString().length());
        int[] at = at();
        for (int k = 0; k < at.length; k++) {
            assertThat(archive.substring(at[k])).as("the path at %d", at[k])
                    .startsWith(pad + dest + (k % 2 == 0 ? "/include\0" : "/lib/python3.11/config\0"));
        }
        assertThat(new String(Files.readAllBytes(dest.resolve("lib/python3.11/__pycache__/m.cpython-311.pyc")), StandardCharsets.ISO_8859_1))
                .as("bytecode: the import system fixes the path itself").contains(p);
    }

    @Test
    void aTreeWithoutOriginsCarriesAnEmptyList() throws IOException {
        Path b = tmp.resolve("plain.tar.zst");
        BundleSummary s = new BundleWriter(Compression.ZSTD, 0, 1, n -> { })
                .write(new BundleSpec(prefix, List.of(), Excludes.none(), PycMode.KEEP, false), b, Map.of());
        String[] name = new String[1];
        assertThat(Manifest.decode(firstEntry(b, name)).isEmpty()).isTrue();
        assertThat(s.relocatable()).isZero();
    }
}
