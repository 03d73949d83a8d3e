package io.nodecast.image;

import io.nodecast.bundle.BundleSummary;
import io.nodecast.bundle.Checksums;
import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.digest.Sha256;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * Image bundles ({@code nodecast bundle ... -o NAME.sqfs}): the tar bundle the same command would write (same
 * contents, excludes, bytecode and relocation, because the same writer makes it), converted by squashfs-tools-ng's
 * tar2sqfs into a squashfs image compressed with zstd. tar2sqfs reads the tar stream as it is, so the tree is never
 * staged on disk, and it keeps the tar's times, on which shipped bytecode depends.
 */
public final class ImageBuilder {
    /** Output names that ask for an image. */
    private static final List<String> SUFFIXES = List.of(".sqfs", ".squashfs");

    private ImageBuilder() {}

    public static boolean wants(Path output) {
        String n = output.getFileName().toString().toLowerCase(Locale.ROOT);
        return SUFFIXES.stream().anyMatch(n::endsWith);
    }

    /** Where the tar stream goes first: a hidden name beside the image, removed once it is converted. */
    public static Path tarFor(Path output) {
        return output.toAbsolutePath().resolveSibling("." + output.getFileName() + ".build-" + ProcessHandle.current().pid() + ".tar.zst");
    }

    /** Removes the intermediate tar bundle and its checksum file, whatever happened. */
    public static void cleanUp(Path tar) {
        for (Path p : List.of(tar, Checksums.sidecar(tar))) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // hidden, and named after the process that made it
            }
        }
    }

    /**
     * Converts the tar bundle into the image {@code output} (written under a hidden name and renamed when
     * complete, with a SHA-256 sidecar like every bundle), then removes the tar bundle.
     *
     * @param tar     what the bundle writer wrote for this image
     * @param level   zstd level of the image (0: 3, the bundles' default)
     * @param workers compression threads
     * @return the tar's summary, now describing the image
     */
    public static BundleSummary convert(BundleSummary tar, Path output, int level, int workers) {
        long start = System.nanoTime();
        Path partial = output.toAbsolutePath().resolveSibling("." + output.getFileName() + ".partial");
        try {
            Path tar2sqfs = Tools.require("tar2sqfs", "squashfs-tools-ng");
            Path err = Files.createTempFile("nodecast-tar2sqfs", ".err");
            try {
                Process p = new ProcessBuilder(tar2sqfs.toString(), "--quiet", "--no-skip", "--no-xattr", "--force",
                        "--compressor", "zstd", "--comp-extra", "level=" + (level == 0 ? 3 : level),
                        "--num-jobs", Integer.toString(Math.max(1, workers)), partial.toString())
                        .redirectInput(tar.output().toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(err.toFile()).start();
                int code = p.waitFor();
                if (code != 0) {
                    throw new NodecastException(ExitCode.TOOL, "cannot make the image " + output + ": tar2sqfs failed: "
                            + Files.readString(err, StandardCharsets.UTF_8).strip().lines().reduce((a, b) -> b).orElse("exit code " + code));
                }
            } finally {
                Files.deleteIfExists(err);
            }
            Superblock.check(partial, output.toString());
            String sha = Sha256.of(partial).hex();
            Files.move(partial, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            writeSidecar(output, sha);
            return new BundleSummary(output, tar.files(), tar.directories(), tar.links(), tar.bytesIn(), Files.size(output),
                    tar.relocatedElf(), tar.compiledPyc(), tar.relocatable(), tar.notes(), sha, tar.millis() + (System.nanoTime() - start) / 1_000_000);
        } catch (IOException e) {
            throw new NodecastException(ExitCode.BUNDLE, "cannot write the image " + output + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
        } finally {
            try {
                Files.deleteIfExists(partial);
            } catch (IOException ignored) {
                // hidden
            }
            cleanUp(tar.output());
        }
    }

    /** The sidecar every bundle has (sha256sum's format), written the way the bundle writer writes it. */
    private static void writeSidecar(Path bundle, String hex) throws IOException {
        Path side = Checksums.sidecar(bundle);
        Path tmp = side.resolveSibling("." + side.getFileName() + ".partial");
        Files.writeString(tmp, hex + "  " + bundle.getFileName() + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, side, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
