package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.format.ChunkInputs;
import io.nodecast.format.Compression;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Archives GNU tar wrote in each of its formats (long names and links, pax records, sparse files in every sparse
 * format, a hard link), damaged at random: bytes flipped, header fields overwritten with digits, base-256 numbers,
 * spaces or NULs and the header's checksum made right again so the damage gets past it, numbers in pax records
 * changed, the archive cut short; and one of them compressed in each of the four ways, damaged in the compressed bytes. Whatever the damage, the extractor must end with the tree or with a one-line
 * refusal naming the bundle: no other exception, no hang, nothing outside DEST touched, with and without writer
 * threads. A failure prints the format, the seed and the damage.
 */
class MutatedArchiveTest {
    private static final int PER_BATCH = 250;
    /** Offsets of a ustar header's fields: name, mode, uid, gid, size, mtime, type, link name, magic, prefix, GNU sparse. */
    private static final int[] FIELDS = {0, 100, 108, 116, 124, 136, 156, 157, 257, 345, 386, 482, 483};

    @TempDir static Path work;
    private static final Map<String, byte[]> ARCHIVES = new LinkedHashMap<>();

    @TempDir Path tmp;

    @BeforeAll
    static void archives() throws Exception {
        Path src = Files.createDirectories(work.resolve("src"));
        Path deep = Files.createDirectories(src.resolve("d".repeat(60) + "/" + "e".repeat(60)));
        Files.writeString(deep.resolve("long-" + "n".repeat(80) + ".py"), "x = 1\n".repeat(300));
        Files.writeString(src.resolve("small"), "hello");
        Files.write(src.resolve("empty"), new byte[0]);
        Files.createSymbolicLink(src.resolve("link"), src.relativize(deep));
        Files.createLink(src.resolve("hard"), src.resolve("small"));
        GnuTarParityTest.sh("truncate -s 64K " + src.resolve("sparse") + " && printf 'head' | dd of=" + src.resolve("sparse")
                + " conv=notrunc status=none && printf 'tail' | dd of=" + src.resolve("sparse")
                + " bs=1 seek=65532 conv=notrunc status=none");
        for (String format : new String[] {"--format=gnu", "--format=oldgnu", "--format=posix --sparse-version=0.0",
                "--format=posix --sparse-version=0.1", "--format=posix --sparse-version=1.0"}) {
            Path out = work.resolve("a.tar");
            GnuTarParityTest.sh("tar -C " + src + " --sparse " + format + " -cf " + out + " .");
            ARCHIVES.put(format, Files.readAllBytes(out));
        }
        // the decoders' turn: damage in a compressed stream reaches the parser as whatever the decoder makes of it
        for (Compression c : new Compression[] {Compression.ZSTD, Compression.GZIP, Compression.BZIP2, Compression.XZ}) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (OutputStream z = c.compress(b, 0, 1)) {
                z.write(ARCHIVES.get("--format=posix --sparse-version=1.0"));
            }
            ARCHIVES.put("posix, " + c.suffix(), b.toByteArray());
        }
    }

    @ParameterizedTest(name = "seeds {0}..+" + PER_BATCH)
    @ValueSource(ints = {0, 10_000, 20_000, 30_000})
    void anyDamageEndsInTheTreeOrAOneLineRefusal(int first) {
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            for (int seed = first; seed < first + PER_BATCH; seed++) {
                for (Map.Entry<String, byte[]> a : ARCHIVES.entrySet()) check(a.getKey(), a.getValue(), seed);
            }
        });
    }

    private void check(String format, byte[] original, int seed) throws IOException {
        Random r = new Random(seed);
        StringBuilder damage = new StringBuilder();
        byte[] archive = damage(original, r, damage);
        String shown = format + ", seed " + seed + ": " + damage;
        int writers = r.nextBoolean() ? 0 : 2;
        Sandbox box = new Sandbox(Files.createDirectories(tmp.resolve(format.replaceAll("\\W", "") + "-" + seed)));
        try {
            new Extractor(Destination.prepare(box.dest.toString(), "testhost"),
                    new Extractor.Options(writers, 0, s -> { }, true), Containment.ALL)
                    .extract(ChunkInputs.of(archive, 512 * (1 + r.nextInt(8))), "bundle.tar");
        } catch (NodecastException e) {
            // FAILURE is an internal error: an exception nobody expected, wrapped
            assertThat(e.exitCode()).as(shown + ": " + e.getMessage()).isIn(ExitCode.BUNDLE, ExitCode.UNSAFE);
            assertThat(e.getMessage()).as(shown).contains("bundle.tar").doesNotContain("\n");
        } catch (RuntimeException | Error e) {
            throw new AssertionError(shown + ", writers " + writers + ": " + e, e);
        }
        box.assertUntouched();
    }

    /** One to three kinds of damage, said in {@code said}. */
    private static byte[] damage(byte[] original, Random r, StringBuilder said) {
        byte[] a = original.clone();
        int blocks = a.length / 512;
        for (int k = 1 + r.nextInt(3); k > 0; k--) {
            switch (r.nextInt(4)) {
                case 0 -> {
                    int at = r.nextInt(a.length);
                    a[at] ^= (byte) (1 << r.nextInt(8));
                    said.append("bit flipped at ").append(at).append("; ");
                }
                case 1 -> {
                    int block = headerBlock(a, r, blocks);
                    int field = FIELDS[r.nextInt(FIELDS.length)];
                    byte[] value = value(r);
                    System.arraycopy(value, 0, a, block * 512 + field, Math.min(value.length, 512 - field));
                    fixChecksum(a, block * 512);
                    said.append("header at block ").append(block).append(", field ").append(field).append(" = ")
                            .append(Arrays.toString(value)).append(", checksum fixed; ");
                }
                case 2 -> {
                    String text = new String(a, StandardCharsets.ISO_8859_1);
                    int at = -1;
                    for (String key : new String[] {"size=", "GNU.sparse.", "path=", "linkpath=", "mtime="}) {
                        int i = text.indexOf(key, r.nextInt(Math.max(1, text.length() / 2)));
                        if (i >= 0 && (at < 0 || r.nextBoolean())) at = i;
                    }
                    if (at < 0) continue;
                    int eq = text.indexOf('=', at) + 1;
                    byte[] value = (r.nextBoolean() ? String.valueOf(r.nextLong()) : String.valueOf(r.nextInt(100_000)))
                            .getBytes(StandardCharsets.US_ASCII);
                    System.arraycopy(value, 0, a, eq, Math.min(value.length, a.length - eq));
                    said.append("pax value at ").append(eq).append(" = ").append(new String(value, StandardCharsets.US_ASCII)).append("; ");
                }
                default -> {
                    int cut = r.nextInt(a.length);
                    a = Arrays.copyOf(a, cut);
                    blocks = Math.max(1, a.length / 512);
                    said.append("cut at ").append(cut).append("; ");
                }
            }
            if (a.length < 512) break;
        }
        return a;
    }

    /** A block that holds a header (its magic says so), or any block. */
    private static int headerBlock(byte[] a, Random r, int blocks) {
        for (int tries = 0; tries < 50; tries++) {
            int b = r.nextInt(blocks);
            if (b * 512 + 262 < a.length && a[b * 512 + 257] == 'u' && a[b * 512 + 258] == 's') return b;
        }
        return r.nextInt(blocks);
    }

    private static byte[] value(Random r) {
        int len = 1 + r.nextInt(12);
        byte[] v = new byte[len];
        switch (r.nextInt(5)) {
            case 0 -> { for (int i = 0; i < len; i++) v[i] = (byte) ('0' + r.nextInt(8)); }
            case 1 -> { r.nextBytes(v); v[0] = (byte) (0x80 | (r.nextBoolean() ? 0x40 : 0)); }
            case 2 -> Arrays.fill(v, (byte) 0xff);
            case 3 -> Arrays.fill(v, (byte) ' ');
            default -> { }   // NULs
        }
        return v;
    }

    private static void fixChecksum(byte[] a, int at) {
        if (at + 512 > a.length) return;
        Arrays.fill(a, at + 148, at + 156, (byte) ' ');
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += a[at + i] & 0xff;
        byte[] octal = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(octal, 0, a, at + 148, 8);
    }
}
