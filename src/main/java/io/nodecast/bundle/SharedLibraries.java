package io.nodecast.bundle;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The paper's "system bundle": the shared libraries the dynamic loader pulls in, from outside the given prefixes,
 * for an interpreter and its extension modules. Found with the system's own {@code ldd}, so the answer is the
 * loader's (search paths, RUNPATH, ld.so.cache), not a reimplementation of it.
 */
public final class SharedLibraries {
    /**
     * glibc and its loader stay the node's own: a libc from elsewhere would meet the node's ld.so, and a mismatch
     * between the two kills every process that loads it.
     */
    public static final Set<String> NODE_OWN = Set.of("ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "ld64.so.2",
            "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1", "libresolv.so.2",
            "libnsl.so.1", "libanl.so.1", "libBrokenLocale.so.1", "libmvec.so.1", "libthread_db.so.1", "linux-vdso.so.1",
            "linux-gate.so.1");

    private static final Pattern RESOLVED = Pattern.compile("^\\s+(\\S+) => (/\\S+) \\(0x[0-9a-f]+\\)$");
    private static final Pattern MISSING = Pattern.compile("^\\s+(\\S+) => not found$");
    private static final int LDD_BATCH = 64;

    /**
     * The closure.
     * @param libraries soname to the file that provides it on this machine
     * @param missing   sonames the loader could not find (they will not load on the nodes either)
     * @param atRunTime sonames among libraries that only a run of the command showed (dlopen: ctypes, plugins)
     */
    public record Closure(Map<String, Path> libraries, Set<String> missing, Set<String> atRunTime) {
        public Closure {
            libraries = Map.copyOf(libraries);
            missing = Set.copyOf(missing);
            atRunTime = Set.copyOf(atRunTime);
        }
    }

    private SharedLibraries() {}

    /**
     * The libraries needed by the ELF files among {@code targets} (files, or directories searched for ELF files)
     * that live outside every directory target, without {@link #NODE_OWN}.
     */
    public static Closure of(List<Path> targets) {
        return of(targets, java.util.Optional.empty());
    }

    /**
     * The closure, and with {@code run} what a run of that shell command actually loaded: ldd sees what ELF files
     * ask for, not what they open with dlopen (ctypes, plugins, Python's own extension modules' dependencies).
     */
    public static Closure of(List<Path> targets, java.util.Optional<String> run) {
        List<Path> elves = new ArrayList<>();
        List<Path> inside = new ArrayList<>();
        for (Path t : targets) {
            Path real = real(t);
            if (Files.isDirectory(real)) {
                inside.add(real);
                elves.addAll(elfFilesUnder(real));
            } else if (isElf(real)) {
                elves.add(real);
            } else {
                throw new NodecastException(ExitCode.USAGE, t + " is neither a directory nor an ELF executable or library");
            }
        }
        Map<String, Path> libs = new TreeMap<>();
        Set<String> missing = new TreeSet<>();
        for (int i = 0; i < elves.size(); i += LDD_BATCH) {
            ldd(elves.subList(i, Math.min(elves.size(), i + LDD_BATCH)), libs, missing);
        }
        Set<String> atRunTime = new TreeSet<>();
        if (run.isPresent()) {
            for (Map.Entry<String, Path> e : LoadedLibraries.run(run.get()).entrySet()) {
                if (libs.putIfAbsent(e.getKey(), e.getValue()) == null) atRunTime.add(e.getKey());
            }
        }
        libs.keySet().removeAll(NODE_OWN);
        libs.values().removeIf(p -> inside.stream().anyMatch(d -> real(p).startsWith(d)));
        atRunTime.retainAll(libs.keySet());
        missing.removeAll(libs.keySet());
        return new Closure(libs, missing, atRunTime);
    }

    private static void ldd(List<Path> files, Map<String, Path> libs, Set<String> missing) {
        List<String> cmd = new ArrayList<>(List.of("ldd"));
        files.forEach(f -> cmd.add(f.toString()));
        // ldd exits non-zero when one of several files is not dynamic; the lines it printed still hold
        String out = Bundles.runLenient(cmd, "list shared libraries with ldd");
        for (String line : out.lines().toList()) {
            Matcher m = RESOLVED.matcher(line);
            if (m.matches()) {
                libs.putIfAbsent(m.group(1), Path.of(m.group(2)));
                continue;
            }
            Matcher n = MISSING.matcher(line);
            if (n.matches()) missing.add(n.group(1));
        }
    }

    private static List<Path> elfFilesUnder(Path dir) {
        List<Path> found = new ArrayList<>();
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    String n = file.getFileName().toString();
                    boolean candidate = n.contains(".so") || Files.isExecutable(file);
                    if (attrs.isRegularFile() && candidate && isElf(file)) found.add(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // unreadable here means unloadable there: not ours to ship
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    private static boolean isElf(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(4);
            return ElfRunpath.isElf(head, head.length);
        } catch (IOException e) {
            return false;
        }
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new NodecastException(ExitCode.USAGE, p + " does not exist");
        }
    }
}
