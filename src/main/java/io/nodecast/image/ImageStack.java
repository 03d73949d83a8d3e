package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.NodecastException;
import io.nodecast.posix.Identity;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * What DEST is made of once an image has been delivered to it: an overlay mounted at DEST whose read-only layers
 * are, top first, each image (mounted on its own) and each directory of files unpacked between two images, then
 * DEST's own directory as it was before the first image; and whose writable layer takes every bundle unpacked
 * after the last image. So later bundles win, whatever mix of images and tar bundles a job delivers, and
 * everything written at DEST stays in node-local storage.
 *
 * <p>Its state lives beside DEST, in the store {@code .NAME.nodecast-images} (0700): the received images, the
 * layers' mount points, the writable and work directories, and {@code stack}, the list of layers. The mount table
 * is the only record of what is mounted: a job killed with its FUSE daemons leaves dead mounts behind, which
 * {@link #recover} detaches before the next delivery and {@link #release} before a purge.
 *
 * <p>Relocation (a bundle's {@code .nodecast-bundle} manifest, issue 13) plugs in after {@link #push}: a mounted
 * image cannot be rewritten in place, so relocated copies of the files the manifest names are written through
 * DEST, where they land in the writable layer above the image.
 */
public final class ImageStack {
    static final String STORE_SUFFIX = ".nodecast-images";
    private static final long UNMOUNT_PATIENCE_MS = 5_000;

    private final Path dest;
    private final Path store;

    private ImageStack(Path dest) {
        this.dest = dest;
        this.store = storeOf(dest);
    }

    /** The store beside DEST ({@code /dev/shm/.local.nodecast-images} for {@code /dev/shm/local}). */
    public static Path storeOf(Path dest) {
        return dest.resolveSibling("." + dest.getFileName() + STORE_SUFFIX);
    }

    /** DEST's stack, its store created (0700) if missing and refused if it is not this user's own directory. */
    static ImageStack open(Path dest) {
        ImageStack s = new ImageStack(dest);
        try {
            try {
                Files.createDirectory(s.store, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException e) {
                // checked below, like a new one
            }
            s.checkOwned();
            Files.createDirectories(s.store.resolve("images"));
            Files.createDirectories(s.store.resolve("layers"));
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot create the image store " + s.store + ": " + e.getMessage(), e);
        }
        return s;
    }

    Path images() {
        return store.resolve("images");
    }

    // ------------------------------------------------------------------------------------------ the layers

    /** One read-only layer of the overlay, by its number in {@code layers/}. */
    record Layer(String kind, int number, String sha256) {
        static final String IMAGE = "image";
        static final String DIR = "dir";

        String line() {
            return kind + " " + number + (sha256.isEmpty() ? "" : " " + sha256);
        }

        static Layer parse(String line) {
            String[] f = line.strip().split(" ");
            return new Layer(f[0], Integer.parseInt(f[1]), f.length > 2 ? f[2] : "");
        }
    }

    /** The stack file: the mounter, then the layers top first. */
    record State(Mounter mounter, List<Layer> layers) {
        int next() {
            return layers.stream().mapToInt(Layer::number).max().orElse(0) + 1;
        }
    }

    private State state() throws IOException {
        Path f = store.resolve("stack");
        if (!Files.exists(f)) return new State(null, List.of());
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        if (lines.isEmpty()) return new State(null, List.of());
        List<Layer> layers = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) if (!l.isBlank()) layers.add(Layer.parse(l));
        return new State(Mounter.valueOf(lines.getFirst().strip()), layers);
    }

    private void save(State s) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(s.mounter().name());
        s.layers().forEach(l -> lines.add(l.line()));
        Path tmp = store.resolve("stack.partial");
        Files.write(tmp, lines, StandardCharsets.UTF_8);
        Files.move(tmp, store.resolve("stack"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private Path layer(int n) {
        return store.resolve("layers").resolve(Integer.toString(n));
    }

    private List<Path> lowers(List<Layer> layers) {
        List<Path> out = new ArrayList<>();
        for (Layer l : layers) out.add(layer(l.number()));
        out.add(dest);   // DEST's own directory, as it was before the first image: the bottom layer
        return out;
    }

    /**
     * Puts the image on top of what DEST shows and mounts the new stack at DEST. On any failure what DEST showed
     * before is mounted again (or, if even that fails, DEST is left as its own directory and the store is emptied),
     * and nothing this call mounted stays mounted.
     */
    void push(Path image, String sha256, Mounter mounter) {
        Boolean done = locked(() -> {
            try {
                pushLocked(image, sha256, mounter);
            } catch (IOException e) {
                throw new NodecastException(ExitCode.DESTINATION, "cannot stack " + image.getFileName() + " at " + dest + ": " + e.getMessage(), e);
            }
            return true;
        });
        if (done == null) throw new NodecastException(ExitCode.DESTINATION, "the image store " + store + " was purged while an image was delivered");
    }

    private void pushLocked(Path image, String sha256, Mounter mounter) throws IOException {
        State before = state();
        if (before.mounter() != null && before.mounter() != mounter) {
            throw new NodecastException(ExitCode.DESTINATION, dest + " already has images mounted the " + before.mounter().name().toLowerCase()
                    + " way; purge it (nodecast purge -p " + dest + ") before mounting with --mode " + (mounter == Mounter.KERNEL ? "kernel" : "image"));
        }
        boolean overlay = !before.layers().isEmpty() && MountTable.mounted(dest);
        if (overlay) unmountOrRefuse(dest);
        List<Layer> layers = new ArrayList<>(before.layers());
        int n = before.next();
        Path upper = store.resolve("upper");
        Path frozen = null;
        if (hasEntries(upper)) {
            // what was unpacked since the last image goes below the new one: the newer bundle wins
            frozen = layer(n);
            Files.move(upper, frozen, StandardCopyOption.ATOMIC_MOVE);
            layers.addFirst(new Layer(Layer.DIR, n++, ""));
        }
        Path at = layer(n);
        Files.createDirectories(at);
        try {
            mounter.mountImage(image, at);
        } catch (RuntimeException e) {
            Files.deleteIfExists(at);
            restore(before, frozen, e);
            throw e;
        }
        layers.addFirst(new Layer(Layer.IMAGE, n, sha256));
        Path work = store.resolve("work");
        FileTrees.delete(work);
        Files.createDirectories(work);
        if (!Files.exists(upper)) Files.createDirectory(upper, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            mounter.mountOverlay(lowers(layers), upper, work, dest, Identity.current());
        } catch (RuntimeException e) {
            Mounter.unmount(new MountTable.Mount(at, mounter == Mounter.FUSE ? "fuse" : "squashfs", ""), true);
            Files.deleteIfExists(at);
            restore(before, frozen, e);
            throw e;
        }
        save(new State(mounter, layers));
    }

    /** After a failed push: what DEST showed before, or DEST's own directory and an empty store if that fails too. */
    private void restore(State before, Path frozen, RuntimeException cause) {
        try {
            Path upper = store.resolve("upper");
            if (frozen != null) {
                FileTrees.delete(upper);
                Files.move(frozen, upper, StandardCopyOption.ATOMIC_MOVE);
            }
            if (!before.layers().isEmpty() && !MountTable.mounted(dest)) {
                Path work = store.resolve("work");
                FileTrees.delete(work);
                Files.createDirectories(work);
                before.mounter().mountOverlay(lowers(before.layers()), upper, work, dest, Identity.current());
            }
        } catch (IOException | RuntimeException again) {
            cause.addSuppressed(again);
            releaseLocked();
        }
    }

    // ------------------------------------------------------------------------------------------ cleaning up

    /**
     * Before a delivery into DEST: if a mount at DEST or in its store is dead (its daemon was killed with a job) or
     * the stack is not what the mount table shows (a node killed half-way), every mount is detached and the store
     * emptied. DEST is then its own directory again, whose ledger lists only what was unpacked into it, so the
     * delivery sends everything else again. A live, consistent stack is kept: its bundles need not be sent again.
     */
    public static void recover(Path dest) {
        ImageStack s = new ImageStack(dest);
        if (!Files.isDirectory(s.store, LinkOption.NOFOLLOW_LINKS)) return;
        s.checkOwned();
        s.locked(() -> {
            boolean healthy;
            try {
                healthy = s.healthy();
            } catch (IOException e) {
                healthy = false;
            }
            if (!healthy) s.releaseLocked();
            return null;
        });
    }

    private boolean healthy() throws IOException {
        State st = state();
        List<MountTable.Mount> mounts = MountTable.under(dest, store);
        for (MountTable.Mount m : mounts) {
            if (!alive(m.point())) return false;
        }
        if (st.layers().isEmpty()) return mounts.isEmpty();
        if (!MountTable.mounted(dest)) return false;
        for (Layer l : st.layers()) {
            if (l.kind().equals(Layer.IMAGE) && !MountTable.mounted(layer(l.number()))) return false;
        }
        return true;
    }

    /**
     * At purge: unmounts DEST's overlay and every layer, then removes the store. Safe to run on every rank of a
     * node at once (one does the work, the others find nothing).
     *
     * @return whether there was anything to release
     */
    public static boolean release(Path dest) {
        ImageStack s = new ImageStack(dest);
        if (!Files.isDirectory(s.store, LinkOption.NOFOLLOW_LINKS)) return false;
        s.checkOwned();
        Boolean done = s.locked(() -> {
            s.releaseLocked();
            return true;
        });
        return done != null && done;
    }

    private void releaseLocked() {
        List<String> stuck = new ArrayList<>();
        // the overlay first: it holds the layers open
        List<MountTable.Mount> mounts = new ArrayList<>(MountTable.under(dest, store));
        mounts.sort((a, b) -> Boolean.compare(!a.point().equals(dest), !b.point().equals(dest)));
        for (MountTable.Mount m : mounts) {
            if (!unmountPatiently(m)) stuck.add(m.point().toString());
        }
        if (!stuck.isEmpty()) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot unmount " + String.join(", ", stuck)
                    + ": unmount it by hand (fusermount3 -u -z, or umount -l as root)");
        }
        Path aside = store.resolveSibling(store.getFileName() + ".purging-" + ProcessHandle.current().pid());
        try {
            try {
                Files.move(store, aside, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                aside = store;
            }
            FileTrees.delete(aside);
        } catch (NoSuchFileException raced) {
            // another rank of this node removed it
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot remove the image store " + store + ": " + e.getMessage(), e);
        }
    }

    /** Unmounts, waiting a little while a daemon that just lost its upper mount lets go of the layers; lazily at last. */
    private static boolean unmountPatiently(MountTable.Mount m) {
        long deadline = System.currentTimeMillis() + UNMOUNT_PATIENCE_MS;
        boolean dead = !alive(m.point());
        while (!dead && System.currentTimeMillis() < deadline) {
            if (Mounter.unmount(m, false).ok() || !stillMounted(m)) return true;
            sleep(100);
        }
        Mounter.unmount(m, true);
        return !stillMounted(m);
    }

    private static boolean stillMounted(MountTable.Mount m) {
        return MountTable.read().stream().anyMatch(x -> x.point().equals(m.point()));
    }

    /**
     * Unmounts DEST's overlay before it is stacked again. Busy because of this process alone (the delivery holds
     * DEST's lock open), it is detached lazily: this process keeps the old view until it closes the file. Busy
     * because another process uses DEST, it is refused: that process would see DEST change under it.
     */
    private void unmountOrRefuse(Path point) {
        MountTable.Mount m = MountTable.read().stream().filter(x -> x.point().equals(point)).findFirst().orElse(null);
        if (m == null) return;
        Tools.Result r = Mounter.unmount(m, false);
        if (r.ok() || !stillMounted(m)) return;
        java.util.Optional<String> other = userOf(point);
        if (other.isPresent()) {
            throw new NodecastException(ExitCode.DESTINATION, dest + " is in use (by " + other.get() + "): a new image can only "
                    + "be stacked when nothing runs from it");
        }
        Mounter.unmount(m, true);
        if (stillMounted(m)) throw new NodecastException(ExitCode.DESTINATION, "cannot unmount " + point + ": " + r.error());
    }

    private static final java.util.Set<String> OUR_DAEMONS = java.util.Set.of("fuse-overlayfs", "squashfuse_ll", "squashfuse", "fusermount3");

    /**
     * A process other than this one and the stack's own daemons that has DEST as its directory, or a file under it
     * open or mapped: "pid N (name)". A user's processes only can be seen, which are the only ones that can enter DEST.
     */
    static java.util.Optional<String> userOf(Path point) {
        long self = ProcessHandle.current().pid();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                if (Long.parseLong(proc.getFileName().toString()) == self) continue;
                String comm;
                try {
                    comm = Files.readString(proc.resolve("comm")).strip();
                } catch (IOException e) {
                    continue;
                }
                if (OUR_DAEMONS.contains(comm)) continue;
                if (uses(proc, point)) return java.util.Optional.of("pid " + proc.getFileName() + " (" + comm + ")");
            }
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.empty();
    }

    private static boolean uses(Path proc, Path point) {
        List<Path> links = new ArrayList<>(List.of(proc.resolve("cwd"), proc.resolve("root")));
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            fds.forEach(links::add);
        } catch (IOException | RuntimeException e) {
            // gone, or not ours to see
        }
        for (Path l : links) {
            try {
                if (Path.of(Files.readSymbolicLink(l).toString()).startsWith(point)) return true;
            } catch (IOException | RuntimeException e) {
                // closed meanwhile
            }
        }
        try (Stream<String> maps = Files.lines(proc.resolve("maps"))) {
            return maps.anyMatch(line -> {
                int slash = line.indexOf('/');
                return slash >= 0 && Path.of(line.substring(slash)).startsWith(point);
            });
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * A mount whose daemon is gone answers "transport endpoint is not connected". Its directory is read, not only
     * stat'ed: the kernel may answer a stat from its attribute cache without asking the daemon.
     */
    static boolean alive(Path point) {
        try (DirectoryStream<Path> d = Files.newDirectoryStream(point)) {
            d.iterator().hasNext();
            return true;
        } catch (NoSuchFileException | NotDirectoryException e) {
            return true;   // nothing mounted there to detach
        } catch (IOException | DirectoryIteratorException e) {
            return false;
        }
    }

    private static boolean hasEntries(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return false;
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isPresent();
        }
    }

    private void checkOwned() {
        try {
            if (Files.isSymbolicLink(store) || !Files.isDirectory(store, LinkOption.NOFOLLOW_LINKS)) {
                throw new NodecastException(ExitCode.DESTINATION, "the image store " + store + " is not a directory");
            }
            int owner = (Integer) Files.getAttribute(store, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) Files.getAttribute(store, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            int me = Identity.current().uid();
            if (owner != me) {
                throw new NodecastException(ExitCode.DESTINATION, "the image store " + store + " belongs to uid " + owner
                        + ", not to you (uid " + me + "); choose another -p");
            }
            if ((mode & 0077) != 0) {
                throw new NodecastException(ExitCode.DESTINATION, String.format("the image store %s is open to others (mode %04o)",
                        store, mode & 07777));
            }
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot check the image store " + store + ": " + e.getMessage(), e);
        }
    }

    /**
     * Runs body holding the store's lock (every rank of a node may purge at once). Returns null without running it
     * when the store went away while this process waited: another one released it.
     */
    private <T> T locked(Supplier<T> body) {
        Path lock = store.resolve("lock");
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
             FileLock ignored = ch.lock()) {
            if (!Files.exists(lock, LinkOption.NOFOLLOW_LINKS)) return null;
            return body.get();
        } catch (NoSuchFileException gone) {
            return null;
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot lock the image store " + store + ": " + e.getMessage(), e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
