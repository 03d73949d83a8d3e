package io.nodecast.bundle;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;

/**
 * Which files stay out of a bundle. A pattern without '/' matches a file or directory name anywhere
 * (like tar's --exclude); one with '/' matches the path relative to the bundle root (glob syntax, ** crosses '/').
 */
public record Excludes(List<String> patterns) {

    /**
     * Follows the paper's tar-anaconda: images, web pages and notebooks, stale .pyo, manuals, and data files
     * inside test directories. Data files elsewhere are kept: packages read some of them at import.
     */
    public static final List<String> DEFAULTS = List.of(
            "*.html", "*.htm", "*.jpg", "*.jpeg", "*.png", "*.gif", "*.svg", "*.ipynb", "*.pyo",
            "share/doc", "share/man", "share/info", "share/gtk-doc",
            "**/tests/**.npy", "**/tests/**.npz", "**/tests/**.mat", "**/tests/**.csv", "**/tests/**.dat",
            "**/tests/**.arff", "**/tests/**.h5", "**/tests/**.dta", "**/tests/**.xls", "**/tests/**.txt",
            "**/tests/**.gz", "**/tests/**.bz2", "**/tests/**.xz", "**/tests/**.zip", "**/tests/**.wav",
            "**/tests/**.nc", "**/tests/**.fits", "**/tests/**.json", "**/tests/**.sav");

    public Excludes {
        patterns = List.copyOf(patterns);
    }

    public static Excludes of(boolean defaults, List<String> extra) {
        List<String> all = new ArrayList<>(defaults ? DEFAULTS : List.of());
        all.addAll(extra);
        return new Excludes(all);
    }

    public static Excludes none() {
        return new Excludes(List.of());
    }

    /** Compiled form, built once per bundle. */
    public Matcher matcher() {
        List<PathMatcher> byName = new ArrayList<>();
        List<PathMatcher> byPath = new ArrayList<>();
        for (String p : patterns) {
            PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + p);
            (p.contains("/") ? byPath : byName).add(m);
        }
        return new Matcher(List.copyOf(byName), List.copyOf(byPath));
    }

    public record Matcher(List<PathMatcher> byName, List<PathMatcher> byPath) {
        /** @param relative path relative to the bundle root */
        public boolean excludes(Path relative) {
            Path name = relative.getFileName();
            if (name != null) {
                for (PathMatcher m : byName) if (m.matches(name)) return true;
            }
            for (PathMatcher m : byPath) if (m.matches(relative)) return true;
            return false;
        }
    }
}
