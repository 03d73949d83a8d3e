package io.nodecast.bundle;

import io.nodecast.core.Units;

import java.nio.file.Path;

/** What one bundle build wrote: the line a user reads after {@code nodecast bundle}. */
public record BundleSummary(Path output, long files, long directories, long links, long bytesIn, long bytesOut,
                            long relocatedElf, long compiledPyc, String sha256, long millis) {
    public String line() {
        return String.format("%s: %,d files, %,d directories, %,d links; %s in, %s out (%.1f%%)%s%s; %.1f s",
                output, files, directories, links, Units.bytes(bytesIn), Units.bytes(bytesOut),
                bytesIn == 0 ? 0.0 : 100.0 * bytesOut / bytesIn,
                relocatedElf > 0 ? "; " + relocatedElf + " RUNPATHs relocated" : "",
                compiledPyc > 0 ? "; " + compiledPyc + " modules compiled" : "",
                millis / 1000.0);
    }
}
