package io.nodecast.relocate;

import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * INTERIM, until the extractor hands the relocation list over itself: today's extractor writes the bundle's
 * first entry to DEST/{@value Manifest#ENTRY_NAME} like any file, so it is read back from there, removed, and
 * applied. With the new extractor the bytes never reach the disk and {@link Relocator#afterUnpack} is called
 * directly; this class then goes.
 */
public final class UnpackedManifest {
    private UnpackedManifest() {}

    /** Before unpacking: a list left by an earlier, failed delivery must not be taken for this bundle's. */
    public static void discardStale(Path dest) throws IOException {
        Files.deleteIfExists(dest.resolve(Manifest.ENTRY_NAME));
    }

    /** After a successful unpack, before the completion mark: relocates, or says why not. */
    public static Relocator.Outcome relocate(Path dest, String label) {
        NioDestFiles files = new NioDestFiles(dest);
        try {
            Optional<byte[]> manifest;
            try {
                manifest = Optional.of(files.read(Manifest.ENTRY_NAME, Manifest.MAX_BYTES + 1));
                Files.delete(dest.resolve(Manifest.ENTRY_NAME));
            } catch (NoSuchFileException e) {
                manifest = Optional.empty();
            } catch (IOException e) {
                throw new NodecastException(io.nodecast.core.ExitCode.DESTINATION, "cannot read the relocation list "
                        + Manifest.ENTRY_NAME + " in " + dest + ": " + e.getMessage(), e);
            }
            return Relocator.afterUnpack(manifest, dest, files);
        } catch (NodecastException e) {
            throw new NodecastException(e.exitCode(), label + ": " + e.getMessage(), e.getCause());
        }
    }
}
