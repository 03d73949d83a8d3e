package io.nodecast.relocate;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@link DestFiles} with plain java.nio: every component checked with lstat, every open with O_NOFOLLOW.
 * A stand-in until relocation runs on the extractor's kernel-contained file layer; it checks and then acts,
 * which that layer does not need to.
 */
public final class NioDestFiles implements DestFiles {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    private final Path root;

    public NioDestFiles(Path root) {
        this.root = root;
    }

    @Override
    public byte[] read(String rel, int maxBytes) throws IOException {
        Path p = regularFile(rel);
        try (InputStream in = Files.newInputStream(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            byte[] b = in.readNBytes(maxBytes);
            if (b.length == maxBytes && in.read() >= 0) throw new FileSystemException(p.toString(), null, "larger than " + maxBytes + " bytes");
            return b;
        }
    }

    @Override
    public void replace(String rel, byte[] content) throws IOException {
        Path p = regularFile(rel);
        PosixFileAttributes old = Files.readAttributes(p, PosixFileAttributes.class, NOFOLLOW);
        Path dir = p.getParent();
        Set<PosixFilePermission> dirMode = Files.getPosixFilePermissions(dir, NOFOLLOW);
        boolean opened = !dirMode.contains(PosixFilePermission.OWNER_WRITE);
        if (opened) {
            // bundles may hold read-only directories (0555): open for the rename, closed again after
            Set<PosixFilePermission> writable = EnumSet.copyOf(dirMode);
            writable.add(PosixFilePermission.OWNER_WRITE);
            writable.add(PosixFilePermission.OWNER_EXECUTE);
            Files.setPosixFilePermissions(dir, writable);
        }
        Path tmp = dir.resolve("." + p.getFileName() + ".nodecast-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                out.write(content);
            }
            Files.setPosixFilePermissions(tmp, old.permissions());
            Files.getFileAttributeView(tmp, BasicFileAttributeView.class, NOFOLLOW)
                    .setTimes(old.lastModifiedTime(), old.lastAccessTime(), null);
            Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the first failure is the one to report
            }
            throw e;
        } finally {
            if (opened) Files.setPosixFilePermissions(dir, dirMode);
        }
    }

    @Override
    public Reader open(String rel) throws IOException {
        InputStream in = Files.newInputStream(regularFile(rel), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        return new Reader() {
            @Override
            public int read(byte[] into, int off, int len) throws IOException {
                return in.read(into, off, len);
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    @Override
    public void patch(String rel, List<Rewrite.Patch> patches) throws IOException {
        byte[] b = Files.readAllBytes(regularFile(rel));
        for (Rewrite.Patch p : patches) System.arraycopy(p.bytes(), 0, b, (int) p.offset(), p.bytes().length);
        replace(rel, b);
    }

    /** rel under root with every directory a real one and the last component a regular file, none a link. */
    private Path regularFile(String rel) throws IOException {
        Path p = root;
        String[] names = rel.split("/");
        for (int i = 0; i < names.length; i++) {
            String n = names[i];
            if (n.isEmpty() || n.equals(".") || n.equals("..")) throw new FileSystemException(rel, null, "not a plain relative path");
            p = p.resolve(n);
            BasicAttrs a = BasicAttrs.of(p);
            if (a == null) throw new NoSuchFileException(p.toString());
            if (a.link) throw new FileSystemException(p.toString(), null, "is a symbolic link; relocation never follows one");
            if (i < names.length - 1 && !a.dir) throw new FileSystemException(p.toString(), null, "is not a directory");
            if (i == names.length - 1 && !a.regular) throw new FileSystemException(p.toString(), null, "is not a regular file");
        }
        return p;
    }

    private record BasicAttrs(boolean link, boolean dir, boolean regular) {
        static BasicAttrs of(Path p) throws IOException {
            try {
                var a = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, NOFOLLOW);
                return new BasicAttrs(a.isSymbolicLink(), a.isDirectory(), a.isRegularFile());
            } catch (NoSuchFileException e) {
                return null;
            }
        }
    }
}
