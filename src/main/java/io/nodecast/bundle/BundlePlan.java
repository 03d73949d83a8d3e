package io.nodecast.bundle;

import java.io.IOException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every entry of a bundle, in the order it is written, decided before a byte is written: the walk of the
 * tree (and its grafts), the bytecode overlay, and what becomes of each symbolic link.
 *
 * <p>A bundle must never hold what its own bcast refuses, so a link that leaves the bundle is not kept:
 * one that names a place inside the bundle by an absolute path becomes relative; one that leads outside is
 * followed and what it points to is copied in under the link's name (a file, or a whole directory whose own
 * links obey the same rule); one that leads nowhere is left out. Each is named in {@link #notes()}.
 */
final class BundlePlan {
    /** Mode bits a bundle never carries: setuid, setgid, sticky, and write for others. */
    static final int STRIPPED_MODE_BITS = 07000 | 0002;

    sealed interface Item {
        String name();

        record Dir(String name, int mode, FileTime mtime) implements Item {}

        /** @param source where the bytes come from; @param patched bytes to write instead, or null */
        record File(String name, Path source, int mode, FileTime mtime, long size, byte[] patched) implements Item {}

        record Link(String name, String target, FileTime mtime) implements Item {}

        record HardLink(String name, String first, int mode, FileTime mtime) implements Item {}
    }

    private final BundleSpec spec;
    private final Excludes.Matcher excludes;
    private final Map<Path, List<Map.Entry<Path, Path>>> overlayByDir = new HashMap<>();
    private final Map<Object, String> hardLinks = new HashMap<>();
    /** Source directory (real path) → where its contents are in the bundle: the root, grafts, followed links. */
    private final Map<Path, Path> placed = new LinkedHashMap<>();
    private final Set<String> dirsAdded = new HashSet<>();
    private final List<Item> items = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final Set<Path> overlaySources = new HashSet<>();

    private BundlePlan(BundleSpec spec, Map<Path, Path> overlay) {
        this.spec = spec;
        this.excludes = spec.excludes().matcher();
        overlay.forEach((rel, src) -> {
            overlayByDir.computeIfAbsent(rel.getParent() == null ? Path.of("") : rel.getParent(), k -> new ArrayList<>())
                    .add(Map.entry(rel, src));
            overlaySources.add(src);
        });
    }

    /**
     * @param overlay extra files (path in the bundle → source) added beside the tree's own, e.g. bytecode compiled
     *                at bundle time; their directories must exist in the tree or be __pycache__ directories
     */
    static BundlePlan of(BundleSpec spec, Map<Path, Path> overlay) throws IOException {
        BundlePlan plan = new BundlePlan(spec, overlay);
        plan.build();
        return plan;
    }

    List<Item> items() {
        return items;
    }

    List<String> notes() {
        return notes;
    }

    /** Whether a file of the plan is bytecode nodecast compiled (never worth a relocation scan). */
    boolean isOverlay(Path source) {
        return overlaySources.contains(source);
    }

    private void build() throws IOException {
        Path root = spec.root();
        placed.put(root, Path.of(""));
        for (BundleSpec.Graft g : spec.grafts()) placed.put(g.source().toRealPath(), g.at());
        for (Path member : roots()) walk(member, root.relativize(member));
        List<BundleSpec.Graft> grafts = new ArrayList<>(spec.grafts());
        grafts.sort(Comparator.comparingInt(g -> g.at().getNameCount()));
        for (BundleSpec.Graft g : grafts) {
            if (g.at().getParent() != null) parents(g.at().getParent());
            walk(g.source().toRealPath(), g.at());
        }
    }

    private List<Path> roots() {
        if (spec.members().isEmpty()) return List.of(spec.root());
        List<Path> out = new ArrayList<>();
        for (Path m : spec.members()) {
            Path p = spec.root().resolve(m).normalize();
            if (!p.startsWith(spec.root())) {
                throw new io.nodecast.core.NodecastException(io.nodecast.core.ExitCode.USAGE, m + ": not inside " + spec.root());
            }
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) out.add(p);
        }
        return out;
    }

    boolean excluded(Path rel) {
        if (spec.pyc() == PycMode.DROP) {
            String n = rel.getFileName() == null ? "" : rel.getFileName().toString();
            if (n.equals("__pycache__") || n.endsWith(".pyc")) return true;
        }
        return excludes.excludes(rel);
    }

    /** Directory entries for rel and its parents that no tree has provided (a graft's place). */
    private void parents(Path rel) {
        if (rel.getParent() != null) parents(rel.getParent());
        if (dirsAdded.add(name(rel))) items.add(new Item.Dir(name(rel), 0755, FileTime.fromMillis(System.currentTimeMillis())));
    }

    /** Walks source (a real path) and puts its contents at rel in the bundle ("" for the top). */
    private void walk(Path source, Path rel) throws IOException {
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a) throws IOException {
                Path r = at(dir);
                if (r.toString().isEmpty()) return FileVisitResult.CONTINUE;
                if (excluded(r)) return FileVisitResult.SKIP_SUBTREE;
                add(dir, r);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Path r = at(f);
                if (r.toString().isEmpty() || excluded(r)) return FileVisitResult.CONTINUE;
                add(f, r);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) return FileVisitResult.CONTINUE; // removed while we walked
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) throw e;
                Path r = at(dir);
                addOverlay(r);
                Path cache = r.resolve("__pycache__");
                if (!Files.isDirectory(dir.resolve("__pycache__"), LinkOption.NOFOLLOW_LINKS) && overlayByDir.containsKey(cache)) {
                    items.add(new Item.Dir(name(cache), 0755, FileTime.fromMillis(System.currentTimeMillis())));
                    addOverlay(cache);
                }
                return FileVisitResult.CONTINUE;
            }

            private Path at(Path p) {
                return rel.resolve(source.relativize(p));
            }
        });
    }

    private void addOverlay(Path relDir) throws IOException {
        List<Map.Entry<Path, Path>> extra = overlayByDir.remove(relDir);
        if (extra == null) return;
        for (Map.Entry<Path, Path> e : extra) add(e.getValue(), e.getKey());
    }

    private void add(Path source, Path rel) throws IOException {
        Map<String, Object> a = Files.readAttributes(source, "unix:mode,size,lastModifiedTime,nlink,ino,dev", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        int perms = mode & 07777 & ~STRIPPED_MODE_BITS;
        FileTime mtime = (FileTime) a.get("lastModifiedTime");
        String name = name(rel);
        switch (mode & 0170000) {
            case 0040000 -> {
                if (dirsAdded.add(name)) items.add(new Item.Dir(name, perms, mtime));
            }
            case 0120000 -> link(source, rel, mtime);
            case 0100000 -> {
                if ((Integer) a.get("nlink") > 1) {
                    String first = hardLinks.putIfAbsent(List.of(a.get("dev"), a.get("ino")), name);
                    if (first != null) {
                        items.add(new Item.HardLink(name, first, perms, mtime));
                        return;
                    }
                }
                items.add(new Item.File(name, source, perms, mtime, (Long) a.get("size"), spec.patched().get(rel)));
            }
            default -> { } // sockets, FIFOs and devices have no place in a software bundle
        }
    }

    private void link(Path source, Path rel, FileTime mtime) throws IOException {
        String target = Files.readSymbolicLink(source).toString();
        Path dir = rel.getParent() == null ? Path.of("") : rel.getParent();
        Path written = source.getParent().resolve(target).normalize();
        Path inBundle = bundlePathOf(written);
        if (inBundle == null) {
            Path real;
            try {
                real = source.toRealPath();
            } catch (NoSuchFileException | FileSystemLoopException e) {
                notes.add(name(rel) + " -> " + target + ": leads outside the bundle to nothing; left out");
                return;
            }
            inBundle = bundlePathOf(real);
            if (inBundle == null) {
                copyIn(real, rel, target);
                return;
            }
        }
        String relative = dir.relativize(inBundle).toString();
        if (relative.isEmpty()) relative = ".";
        if (!relative.equals(Path.of(target).normalize().toString())) {
            notes.add(name(rel) + " -> " + target + ": inside the bundle, written as " + relative);
            target = relative;
        }
        items.add(new Item.Link(name(rel), target, mtime));
    }

    private void copyIn(Path real, Path rel, String target) throws IOException {
        BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
        if (a.isDirectory() && placed.keySet().stream().anyMatch(p -> p.startsWith(real))) {
            notes.add(name(rel) + " -> " + target + ": leads to " + real + ", which holds what the bundle already copies (a loop); left out");
        } else if (a.isDirectory()) {
            notes.add(name(rel) + " -> " + target + ": leads outside the bundle; the directory " + real + " is copied in");
            placed.put(real, rel);
            walk(real, rel);
        } else if (a.isRegularFile()) {
            notes.add(name(rel) + " -> " + target + ": leads outside the bundle; " + real + " is copied in");
            add(real, rel);
        } else {
            notes.add(name(rel) + " -> " + target + ": leads outside the bundle to a special file; left out");
        }
    }

    /** Where an absolute source path is in the bundle, if its directory is one the bundle holds. */
    private Path bundlePathOf(Path p) {
        Path best = null, bestAt = null;
        for (Map.Entry<Path, Path> e : placed.entrySet()) {
            if (p.startsWith(e.getKey()) && (best == null || e.getKey().getNameCount() > best.getNameCount())) {
                best = e.getKey();
                bestAt = e.getValue();
            }
        }
        return best == null ? null : bestAt.resolve(best.relativize(p));
    }

    static String name(Path rel) {
        return rel.toString().replace('\\', '/');
    }
}
