package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Where the bundles of a bcast come from besides the command line: a list file, or the python-mpi variables. */
public final class BundleLists {
    private BundleLists() {}

    /** {@code -f LIST}: one bundle path a line; blank lines and # comments ignored; relative paths from the list's directory. */
    public static List<Path> read(Path list) {
        try {
            List<Path> out = new ArrayList<>();
            for (String line : Files.readAllLines(list)) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#")) continue;
                Path p = Path.of(t);
                out.add(p.isAbsolute() ? p : list.toAbsolutePath().getParent().resolve(p));
            }
            return out;
        } catch (NoSuchFileException e) {
            throw new NodecastException(ExitCode.BUNDLE, "bundle list " + list + " does not exist");
        } catch (IOException e) {
            throw new NodecastException(ExitCode.BUNDLE, "cannot read bundle list " + list + ": " + e.getMessage());
        }
    }

    /**
     * The earlier python-mpi interface: PYTHON_MPI_CHROOT (destination), PYTHON_MPI_PKGROOT (directory of the
     * bundles) and PYTHON_MPI_PACKAGES (colon-separated names in it).
     */
    public record Legacy(String destination, List<Path> bundles) {
        public static Optional<Legacy> from(Map<String, String> env) {
            String packages = env.getOrDefault("PYTHON_MPI_PACKAGES", "");
            if (packages.isBlank()) return Optional.empty();
            String chroot = env.getOrDefault("PYTHON_MPI_CHROOT", "");
            String root = env.getOrDefault("PYTHON_MPI_PKGROOT", "");
            if (chroot.isBlank()) {
                throw new NodecastException(ExitCode.USAGE, "PYTHON_MPI_PACKAGES is set but PYTHON_MPI_CHROOT is not: where should they go?");
            }
            List<Path> bundles = new ArrayList<>();
            for (String name : packages.split(":")) {
                if (name.isBlank()) continue;
                Path p = Path.of(name);
                bundles.add(p.isAbsolute() || root.isBlank() ? p : Path.of(root).resolve(p));
            }
            return Optional.of(new Legacy(chroot, bundles));
        }
    }
}
