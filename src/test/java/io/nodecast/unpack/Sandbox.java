package io.nodecast.unpack;

import io.nodecast.format.ChunkInputs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A temporary directory holding DEST and, beside it, an "outside" directory with a victim file: what an escaping
 * archive would write to, overwrite, re-mode, re-time or hard-link. {@link #assertUntouched} checks all of it.
 */
final class Sandbox {
    static final String VICTIM = "do not touch";
    static final FileTime VICTIM_TIME = FileTime.fromMillis(1_000_000_000_000L);

    final Path root;
    final Path dest;
    final Path outside;
    final Path victim;

    Sandbox(Path tmp) throws IOException {
        root = tmp;
        // DEST two levels down, so that links climbing two levels from DEST land in the victim's directory
        dest = Files.createDirectories(tmp.resolve("jail")).resolve("dest");
        outside = Files.createDirectories(tmp.resolve("outside"));
        victim = Files.writeString(outside.resolve("victim"), VICTIM);
        Files.setAttribute(victim, "unix:mode", 0640);
        Files.setLastModifiedTime(victim, VICTIM_TIME);
    }

    UnpackSummary unpack(byte[] archive) {
        return unpack(archive, Containment.ALL, true, 0);
    }

    UnpackSummary unpack(byte[] archive, Set<Containment.Rule> rules, boolean openat2, long maxTar) {
        Destination d = Destination.prepare(dest.toString(), "testhost");
        return new Extractor(d, new Extractor.Options(2, maxTar, s -> { }, openat2), rules)
                .extract(ChunkInputs.of(archive, 4096), "bundle.tar");
    }

    /** Nothing beside DEST but the outside directory, which holds the victim exactly as it was. */
    void assertUntouched() throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("jail", "outside");
        }
        try (Stream<Path> s = Files.list(dest.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).isSubsetOf(List.of("dest"));
        }
        try (Stream<Path> s = Files.list(outside)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("victim");
        }
        assertThat(Files.isSymbolicLink(victim)).isFalse();
        assertThat(Files.readString(victim)).isEqualTo(VICTIM);
        assertThat((Integer) Files.getAttribute(victim, "unix:mode") & 07777).isEqualTo(0640);
        assertThat(Files.getLastModifiedTime(victim)).isEqualTo(VICTIM_TIME);
        assertThat((Integer) Files.getAttribute(victim, "unix:nlink")).as("hard links to the victim").isEqualTo(1);
    }

    /** DEST as path → content ("" for a directory, "->target" for a link); nodecast's own records left out. */
    Map<String, String> tree() throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dest)) {
            for (Path p : s.toList()) {
                String rel = dest.relativize(p).toString();
                if (rel.isEmpty() || rel.startsWith(Destination.META)) continue;
                if (Files.isSymbolicLink(p)) out.put(rel, "->" + Files.readSymbolicLink(p));
                else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) out.put(rel + "/", "");
                else out.put(rel, Files.readString(p));
            }
        }
        return out;
    }
}
