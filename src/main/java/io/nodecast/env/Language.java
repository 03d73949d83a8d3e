package io.nodecast.env;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How an interpreter is pointed at the node-local copy: the variables it reads to find itself and its
 * packages, so that nothing it looks up at start-up is left on the shared file system.
 */
public sealed interface Language permits Language.Python, Language.R, Language.Julia {

    String id();

    /** The interpreter-specific changes; {@link #reroute} adds PATH and LD_LIBRARY_PATH. */
    List<EnvChange> own(Path dest);

    /** Where the interpreter's commands are in DEST, first first. */
    default List<Path> bin(Path dest) {
        return List.of(dest.resolve("bin"));
    }

    /** Every change, in order, computed against the current environment. */
    default List<EnvChange> reroute(Path dest, Map<String, String> current) {
        List<EnvChange> out = new ArrayList<>(own(dest));
        String path = current.get("PATH");
        for (Path dir : bin(dest).reversed()) path = prepend(dir, path);
        out.add(EnvChange.set("PATH", path));
        out.add(EnvChange.set("LD_LIBRARY_PATH", prepend(dest.resolve("lib"), current.get("LD_LIBRARY_PATH"))));
        return out;
    }

    /** The environment a child process gets after rerouting. */
    default Map<String, String> apply(Path dest, Map<String, String> current) {
        Map<String, String> env = new java.util.HashMap<>(current);
        for (EnvChange c : reroute(dest, current)) {
            c.value().ifPresentOrElse(v -> env.put(c.name(), v), () -> env.remove(c.name()));
        }
        return env;
    }

    static Language of(String id) {
        return switch (id.toLowerCase(Locale.ROOT)) {
            case "python" -> new Python();
            case "r" -> new R();
            case "julia" -> new Julia();
            default -> throw new IllegalArgumentException("unknown language '" + id + "' (python, r, julia)");
        };
    }

    private static String prepend(Path dir, String existing) {
        // drop an earlier copy of dir so repeated activation does not grow the path
        List<String> parts = new ArrayList<>(List.of(dir.toString()));
        if (existing != null) {
            for (String p : existing.split(":")) if (!p.isEmpty() && !p.equals(dir.toString())) parts.add(p);
        }
        return String.join(":", parts);
    }

    /**
     * The paper's Table 1. PYTHONPATH goes: every package is under DEST, and each entry costs a lookup per import
     * on every rank. PYTHONUSERBASE points at DEST rather than being unset, because unset means ~/.local on the
     * slow home file system; DEST/lib/pythonX.Y/site-packages is where bcast-userbase unpacks anyway.
     */
    record Python() implements Language {
        @Override
        public String id() {
            return "python";
        }

        @Override
        public List<EnvChange> own(Path dest) {
            return List.of(EnvChange.set("PYTHONHOME", dest.toString()), EnvChange.unset("PYTHONPATH"),
                    EnvChange.set("PYTHONUSERBASE", dest.toString()));
        }
    }

    /**
     * R finds its installation from R_HOME (RHOME for Rscript, which otherwise runs the R it was built for) and
     * packages from the R_LIBS variables; the user library (~/R/...) is the home file system again, so it points
     * at the local copy too. DEST is laid out as a prefix: R's home at lib/R (a conda or source-built R bundled
     * with {@code bundle prefix PREFIX}, or Debian's /usr/lib/R with {@code bundle prefix /usr/lib/R}); R's own
     * bin/ follows DEST/bin on PATH, for the home-only layout.
     */
    record R() implements Language {
        @Override
        public String id() {
            return "r";
        }

        @Override
        public List<Path> bin(Path dest) {
            return List.of(dest.resolve("bin"), dest.resolve("lib/R/bin"));
        }

        @Override
        public List<EnvChange> own(Path dest) {
            String home = dest.resolve("lib/R").toString();
            return List.of(EnvChange.set("R_HOME", home), EnvChange.set("RHOME", home),
                    EnvChange.set("R_LIBS", dest.resolve("lib/R/library").toString()),
                    EnvChange.set("R_LIBS_USER", dest.resolve("lib/R/library").toString()),
                    EnvChange.set("R_LIBS_SITE", dest.resolve("lib/R/site-library").toString()));
        }
    }

    /**
     * Julia reads packages and compiled caches from its depots; the default depot is ~/.julia. The local copy
     * becomes the only depot, with the stdlib from the bundled installation.
     */
    record Julia() implements Language {
        @Override
        public String id() {
            return "julia";
        }

        @Override
        public List<EnvChange> own(Path dest) {
            return List.of(EnvChange.set("JULIA_DEPOT_PATH", dest.resolve("share/julia").toString()),
                    EnvChange.set("JULIA_LOAD_PATH", "@:@stdlib"), EnvChange.unset("JULIA_PROJECT"));
        }
    }
}
