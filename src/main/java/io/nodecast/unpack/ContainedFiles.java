package io.nodecast.unpack;

import io.nodecast.posix.PosixException;
import io.nodecast.posix.Sys;
import io.nodecast.relocate.DestFiles;
import io.nodecast.relocate.Rewrite;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Optional;

/**
 * Relocation's file operations on the extractor's own {@link Containment}: the relocation list comes from the bundle,
 * so its paths pass the same name rules as the bundle's members, and every open resolves beneath DEST by the kernel.
 * Used before the directories get their final modes, so a read-only directory of the bundle is still writable.
 */
final class ContainedFiles implements DestFiles {
    private final Containment box;

    ContainedFiles(Containment box) {
        this.box = box;
    }

    @Override
    public byte[] read(String rel, int maxBytes) throws IOException {
        byte[] b = box.readFile(box.name(rel.getBytes(StandardCharsets.UTF_8)), maxBytes);
        if (b == null) throw new NoSuchFileException(rel);
        return b;
    }

    @Override
    public Optional<FileId> id(String rel) throws IOException {
        try {
            Sys.Stat st = box.stat(box.name(rel.getBytes(StandardCharsets.UTF_8)));
            return st == null || !st.isRegular() ? Optional.empty() : Optional.of(new FileId(st.device(), st.inode()));
        } catch (PosixException e) {
            throw new IOException(rel + ": " + e.reason(), e);
        }
    }

    @Override
    public Reader open(String rel) throws IOException {
        Containment.OpenFile f;
        try {
            f = box.openFile(box.name(rel.getBytes(StandardCharsets.UTF_8)));
        } catch (PosixException e) {
            throw new IOException(rel + ": " + e.reason(), e);
        }
        if (f == null) throw new NoSuchFileException(rel);
        return new Reader() {
            @Override
            public int read(byte[] into, int off, int len) throws IOException {
                try {
                    int n = f.read(into, off, len);
                    return n == 0 ? -1 : n;
                } catch (PosixException e) {
                    throw new IOException(rel + ": " + e.reason(), e);
                }
            }

            @Override
            public void close() {
                f.close();
            }
        };
    }

    @Override
    public void patch(String rel, List<Rewrite.Patch> patches) throws IOException {
        try {
            box.patchFile(box.name(rel.getBytes(StandardCharsets.UTF_8)), patches);
        } catch (PosixException e) {
            throw new IOException(rel + ": " + e.reason(), e);
        }
    }

    @Override
    public void replace(String rel, byte[] content) throws IOException {
        try {
            box.replaceFile(box.name(rel.getBytes(StandardCharsets.UTF_8)), content);
        } catch (PosixException e) {
            throw new IOException(rel + ": " + e.reason(), e);
        }
    }
}
