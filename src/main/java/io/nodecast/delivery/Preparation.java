package io.nodecast.delivery;

import io.nodecast.bundle.BundleSpec;
import io.nodecast.bundle.BundleWriter;
import io.nodecast.bundle.Checksums;
import io.nodecast.bundle.Excludes;
import io.nodecast.bundle.PycMode;
import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.core.Units;
import io.nodecast.format.Compression;
import io.nodecast.unpack.Destination;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Rank 0, before anything is sent: what each bundle is (a header every leader gets), where its file is, and the
 * trees {@code mirror} bundles now, into rank 0's DEST. A bundle that cannot be delivered gets a header with the
 * error in it, so every leader stops at the same place and the step fails with rank 0's message, no abort needed.
 *
 * @param headers   one per bundle, in order
 * @param paths     the file of each bundle, null where its header carries an error
 * @param temporary what {@link #close} deletes (mirrored bundles and their sidecars)
 */
record Preparation(List<Header> headers, List<Path> paths, List<Path> temporary) implements AutoCloseable {

    /** @param listing the bundles asked for; a failure to list them (a missing -f LIST) becomes a failed header */
    static Preparation of(Delivery.Bundles listing, Destination dest) {
        List<BundleRef> refs;
        try {
            refs = listing.list();
        } catch (NodecastException e) {
            return new Preparation(List.of(Header.failed("bundle list", e.exitCode(), e.getMessage())),
                    Collections.singletonList(null), List.of());
        }
        List<Header> headers = new ArrayList<>();
        List<Path> paths = new ArrayList<>();
        List<Path> temporary = new ArrayList<>();
        for (BundleRef ref : refs) {
            Path path;
            try {
                path = switch (ref) {
                    case BundleRef.File f -> f.path();
                    case BundleRef.Tree t -> {
                        Path tmp = Files.createTempFile(dest.root().resolve(Destination.META), "mirror-", ".tar.zst");
                        temporary.add(tmp);
                        temporary.add(Checksums.sidecar(tmp));
                        yield mirror(t, tmp);
                    }
                };
            } catch (NodecastException e) {
                headers.add(Header.failed(ref.label(), e.exitCode(), e.getMessage()));
                paths.add(null);
                continue;
            } catch (IOException e) {
                headers.add(Header.failed(ref.label(), ExitCode.BUNDLE, "cannot bundle " + ref.label() + ": " + e.getMessage()));
                paths.add(null);
                continue;
            }
            headers.add(describe(ref, path));
            paths.add(headers.getLast().failed() ? null : path);
        }
        return new Preparation(List.copyOf(headers), Collections.unmodifiableList(paths), List.copyOf(temporary));
    }

    private static Header describe(BundleRef ref, Path path) {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            if (!a.isRegularFile()) throw new IOException("not a regular file");
            if (!Files.isReadable(path)) throw new IOException("permission denied");
            String fp = path.toRealPath() + ":" + a.size() + ":" + a.lastModifiedTime().toInstant();
            return Header.ok(ref.label(), a.size(), fp, Checksums.readSidecar(path, a).orElse(""));
        } catch (NoSuchFileException e) {
            return Header.failed(ref.label(), ExitCode.BUNDLE, "bundle " + path + " does not exist");
        } catch (IOException e) {
            return Header.failed(ref.label(), ExitCode.BUNDLE, "cannot read bundle " + path + ": " + e.getMessage());
        }
    }

    static Path mirror(BundleRef.Tree t, Path output) throws IOException {
        BundleSpec spec = new BundleSpec(t.root(), t.members(), Excludes.none(), PycMode.KEEP, false);
        for (Path m : t.members()) {
            if (!Files.exists(t.root().resolve(m))) {
                throw new NodecastException(ExitCode.USAGE, "mirror: " + t.root().resolve(m) + " does not exist");
            }
        }
        long size = BundleWriter.measure(spec);
        if (size > t.maxBytes()) {
            throw new NodecastException(ExitCode.TOO_LARGE, String.format(
                    "mirror: %s has %s, over the limit of %s. Remove data files from it (see 'du -sh %s'), "
                            + "or package it properly (pip) and deliver it with 'nodecast bundle pip' and bcast; "
                            + "--max-size raises the limit", t.label(), Units.bytes(size), Units.bytes(t.maxBytes()), t.root()));
        }
        new BundleWriter(Compression.ZSTD, 3, 1, n -> { }).write(spec, output, Map.of());
        return output;
    }

    @Override
    public void close() {
        for (Path p : temporary) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover in DEST/.nodecast goes with the next purge
            }
        }
    }
}
