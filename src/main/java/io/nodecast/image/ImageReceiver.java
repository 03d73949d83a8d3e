package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.core.Units;
import io.nodecast.unpack.UnpackSummary;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A leader's side of delivering a squashfs image: the streamed bytes go into a file in node-local storage (the
 * store beside DEST); once the delivery has checked them against rank 0's checksum, {@link #commit} checks the
 * superblock and mounts the image at DEST (or unpacks it, with {@code --mode unpack}, or {@code auto} on a node
 * that cannot mount). Nothing is mounted before the checksum matched; a failure mounts nothing.
 */
public final class ImageReceiver {

    /** Unpacks a tar stream into DEST: the delivery's own extractor, for images that are unpacked. */
    @FunctionalInterface
    public interface Unpacker {
        UnpackSummary unpack(InputStream tar, String label);
    }

    private final Path dest;
    private final String label;
    private final long size;
    private final ImageMode mode;
    private final Unpacker unpacker;
    private ImageStack stack;
    private Path partial;
    private FileChannel out;
    private long written;
    private long nanos;
    private NodecastException failure;

    /**
     * @param dest     DEST, prepared
     * @param size     the image's size, for the free-space check before anything is written
     * @param unpacker the extractor used when the image is unpacked instead of mounted
     */
    public ImageReceiver(Path dest, String label, long size, ImageMode mode, Unpacker unpacker) {
        this.dest = dest;
        this.label = label;
        this.size = size;
        this.mode = mode;
        this.unpacker = unpacker;
    }

    /** One received chunk. Never throws: the broadcast must go on; a failure is kept for {@link #failure}. */
    public void accept(ByteBuffer chunk) {
        if (failure != null) return;
        long t = System.nanoTime();
        try {
            if (out == null) open();
            ByteBuffer b = chunk.duplicate();
            while (b.hasRemaining()) written += out.write(b);
        } catch (NodecastException e) {
            fail(e);
        } catch (IOException e) {
            fail(new NodecastException(noSpace(e) ? ExitCode.NO_SPACE : ExitCode.DESTINATION,
                    "cannot write the image " + label + " to " + partial + ": " + e.getMessage(), e));
        } catch (RuntimeException e) {
            fail(new NodecastException(ExitCode.FAILURE, label + ": " + e, e));
        }
        nanos += System.nanoTime() - t;
    }

    private void open() throws IOException {
        stack = ImageStack.open(dest);
        long free = Files.getFileStore(stack.images()).getUsableSpace();
        if (free < size) {
            throw new NodecastException(ExitCode.NO_SPACE, "no room for the image " + label + " in " + stack.images() + ": it needs "
                    + Units.bytes(size) + ", " + Units.bytes(free) + " are free");
        }
        partial = stack.images().resolve(".receiving-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        out = FileChannel.open(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    /** The stream has ended. */
    public void finish() {
        closeQuietly();
    }

    public NodecastException failure() {
        return failure;
    }

    public double seconds() {
        return nanos / 1e9;
    }

    /**
     * The bytes matched rank 0's checksum: check the image and mount it (or unpack it).
     *
     * @return what DEST gained: for a mounted image, its inodes as files and its size as bytes
     */
    public UnpackSummary commit(String sha256) {
        long t = System.nanoTime();
        try {
            finish();
            if (failure != null) throw failure;
            Superblock sb = Superblock.check(partial, label);
            List<String> missing = mode == ImageMode.UNPACK ? List.of() : Mounter.of(mode).missing();
            boolean mount = mode != ImageMode.UNPACK && missing.isEmpty();
            if (!mount && mode != ImageMode.UNPACK && mode != ImageMode.AUTO) {
                throw new NodecastException(ExitCode.TOOL, "cannot mount " + label + ": " + String.join("; ", missing)
                        + (mode == ImageMode.IMAGE ? " (with --mode auto it is unpacked instead)" : ""));
            }
            Path image = stack.images().resolve(sha256 + ".sqfs");
            boolean stackedBefore = Files.exists(image);   // the same image lower in the stack, mounted there
            Files.move(partial, image, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            partial = null;
            try {
                if (mount) {
                    stack.push(image, sha256, Mounter.of(mode));
                    return new UnpackSummary(sb.inodes(), 0, 0, written, null);
                }
                UnpackSummary s = unpack(image, missing);
                if (!stackedBefore) Files.deleteIfExists(image);
                return s;
            } catch (RuntimeException e) {
                if (!stackedBefore) Files.deleteIfExists(image);
                throw e;
            }
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot keep the image " + label + " in " + stack.images() + ": " + e.getMessage(), e);
        } finally {
            nanos += System.nanoTime() - t;
        }
    }

    /** The bytes are not to be used (a checksum mismatch, a failure elsewhere): nothing of them is kept. */
    public void discard() {
        closeQuietly();
        if (partial != null) {
            try {
                Files.deleteIfExists(partial);
            } catch (IOException ignored) {
                // a hidden partial file goes with the next purge
            }
        }
    }

    /** sqfs2tar writes the image as a tar stream, which the delivery's own extractor unpacks with all its checks. */
    private UnpackSummary unpack(Path image, List<String> cannotMount) throws IOException {
        String why = cannotMount.isEmpty() ? "" : " (it cannot be mounted here: " + String.join("; ", cannotMount) + ")";
        Path sqfs2tar = Tools.find("sqfs2tar").orElseThrow(() -> new NodecastException(ExitCode.TOOL,
                "cannot unpack " + label + why + ": sqfs2tar is not installed (Debian package squashfs-tools-ng)"));
        Path err = Files.createTempFile("nodecast-sqfs2tar", ".err");
        try {
            Process p = new ProcessBuilder(sqfs2tar.toString(), "--no-skip", "--no-xattr", image.toString())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectError(err.toFile()).start();
            UnpackSummary s;
            try (InputStream tar = p.getInputStream()) {
                s = unpacker.unpack(tar, label);
                tar.transferTo(java.io.OutputStream.nullOutputStream());   // the tar's padding after its end
            } catch (RuntimeException e) {
                p.destroyForcibly();
                throw e;
            }
            int code = p.waitFor();
            if (code != 0) {
                throw new NodecastException(ExitCode.BUNDLE, "cannot unpack " + label + why + ": sqfs2tar failed: "
                        + Files.readString(err, StandardCharsets.UTF_8).strip().lines().reduce((a, b) -> b).orElse("exit code " + code));
            }
            return s;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted while unpacking " + label, e);
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private void fail(NodecastException e) {
        failure = e;
        discard();
    }

    private void closeQuietly() {
        if (out == null) return;
        try {
            out.close();
        } catch (IOException e) {
            if (failure == null) failure = new NodecastException(noSpace(e) ? ExitCode.NO_SPACE : ExitCode.DESTINATION,
                    "cannot write the image " + label + " to " + partial + ": " + e.getMessage(), e);
        }
        out = null;
    }

    private static boolean noSpace(IOException e) {
        return String.valueOf(e.getMessage()).contains("No space left");
    }
}
