package io.nodecast.unpack;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The bundles completely unpacked at a destination, in the order they were unpacked.
 * An entry is removed before a bundle is (re)unpacked and added only after it finished, so a crash half-way
 * leaves no entry; {@code incomplete} names the bundle being unpacked until it is done.
 */
public final class Ledger {
    private final Path dir;

    Ledger(Path metaDir) {
        this.dir = metaDir;
    }

    /** @param fingerprint rank 0's view of the file (path, size, mtime): identity when there is no sidecar */
    public record Entry(String sha256, long size, String fingerprint, String name) {
        String line() {
            return sha256 + "\t" + size + "\t" + fingerprint.replace('\t', ' ') + "\t" + name.replace('\t', ' ');
        }

        static Optional<Entry> parse(String line) {
            String[] f = line.split("\t", 4);
            if (f.length < 4) return Optional.empty();
            try {
                return Optional.of(new Entry(f[0], Long.parseLong(f[1]), f[2], f[3]));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
    }

    public List<Entry> entries() throws IOException {
        List<Entry> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(dir.resolve("ledger"), StandardCharsets.UTF_8)) {
                Entry.parse(line).ifPresent(out::add);
            }
        } catch (NoSuchFileException e) {
            return out;
        }
        return out;
    }

    /**
     * Whether the bundle can be skipped: it was unpacked here, and every bundle unpacked after it is among
     * {@code later} (the bundles this request delivers after it), so the tree is what this request makes anyway.
     */
    public boolean satisfied(String sha256OrEmpty, String fingerprint, List<String> laterFingerprints,
                             List<String> laterShas) throws IOException {
        List<Entry> all = entries();
        for (int i = 0; i < all.size(); i++) {
            Entry e = all.get(i);
            boolean same = !sha256OrEmpty.isEmpty() ? e.sha256().equals(sha256OrEmpty) : e.fingerprint().equals(fingerprint);
            if (!same) continue;
            for (Entry after : all.subList(i + 1, all.size())) {
                if (!laterShas.contains(after.sha256()) && !laterFingerprints.contains(after.fingerprint())) return false;
            }
            return true;
        }
        return false;
    }

    /** Before unpacking: forget the bundle and say it is in progress. */
    public void begin(String sha256OrEmpty, String fingerprint, String name) throws IOException {
        rewrite(sha256OrEmpty, fingerprint, null);
        Files.writeString(dir.resolve("incomplete"), name + "\n", StandardCharsets.UTF_8);
    }

    /** After a complete unpack. */
    public void complete(Entry entry) throws IOException {
        rewrite(entry.sha256(), entry.fingerprint(), entry);
        Files.deleteIfExists(dir.resolve("incomplete"));
    }

    public Optional<String> incomplete() throws IOException {
        Path p = dir.resolve("incomplete");
        return Files.exists(p) ? Optional.of(Files.readString(p).strip()) : Optional.empty();
    }

    private void rewrite(String dropSha, String dropFingerprint, Entry append) throws IOException {
        List<String> lines = new ArrayList<>();
        for (Entry e : entries()) {
            boolean drop = e.fingerprint().equals(dropFingerprint) || (!dropSha.isEmpty() && e.sha256().equals(dropSha));
            if (!drop) lines.add(e.line());
        }
        if (append != null) lines.add(append.line());
        Path tmp = dir.resolve("ledger.partial");
        Files.write(tmp, lines, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve("ledger"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
