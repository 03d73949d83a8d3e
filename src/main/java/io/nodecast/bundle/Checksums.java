package io.nodecast.bundle;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The SHA-256 sidecar ({@code BUNDLE.sha256}, in sha256sum's format) written beside every bundle.
 * It lets rank 0 know a bundle's identity before reading it (to skip nodes that have it) and check the bytes
 * it read against the bundle as it was made.
 */
public final class Checksums {
    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    private Checksums() {}

    public static Path sidecar(Path bundle) {
        return bundle.resolveSibling(bundle.getFileName() + ".sha256");
    }

    static void writeSidecar(Path bundle, String hex) throws IOException {
        Path side = sidecar(bundle);
        Path tmp = side.resolveSibling("." + side.getFileName() + ".partial");
        Files.writeString(tmp, hex + "  " + bundle.getFileName() + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, side, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * The recorded checksum, if a sidecar exists and is not older than the bundle. A stale one (see
     * {@link #staleSidecar}) must not name the bundle: the ledger would then skip a bundle changed since.
     */
    public static Optional<String> readSidecar(Path bundle, BasicFileAttributes bundleAttrs) {
        return read(sidecar(bundle), bundleAttrs, false);
    }

    /**
     * The checksum of a sidecar older than its bundle: still checked against (a {@code touch} must not turn the
     * check off), never trusted as the bundle's identity.
     */
    public static Optional<String> staleSidecar(Path bundle) {
        try {
            BasicFileAttributes b = Files.readAttributes(bundle, BasicFileAttributes.class);
            BasicFileAttributes a = Files.readAttributes(sidecar(bundle), BasicFileAttributes.class);
            if (a.lastModifiedTime().compareTo(b.lastModifiedTime()) >= 0) return Optional.empty();
            return read(sidecar(bundle), b, true);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> read(Path side, BasicFileAttributes bundleAttrs, boolean anyAge) {
        try {
            BasicFileAttributes a = Files.readAttributes(side, BasicFileAttributes.class);
            if ((!anyAge && a.lastModifiedTime().compareTo(bundleAttrs.lastModifiedTime()) < 0) || a.size() > 4096) {
                return Optional.empty();
            }
            String text = Files.readString(side, StandardCharsets.US_ASCII).strip();
            String hex = text.split("\\s+", 2)[0].toLowerCase(java.util.Locale.ROOT);
            return HEX.matcher(hex).matches() ? Optional.of(hex) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
