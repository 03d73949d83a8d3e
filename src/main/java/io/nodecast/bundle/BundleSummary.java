package io.nodecast.bundle;

import io.nodecast.core.Units;

import java.nio.file.Path;
import java.util.List;

/**
 * What one bundle build wrote: the line a user reads after {@code nodecast bundle}.
 *
 * @param relocatable files the bundle's relocation list names (rewritten at unpack)
 * @param notes       one line each for -v: links made relative, followed or left out; files not relocatable
 */
public record BundleSummary(Path output, long files, long directories, long links, long bytesIn, long bytesOut,
                            long relocatedElf, long compiledPyc, long relocatable, List<String> notes, String sha256, long millis) {
    public BundleSummary {
        notes = List.copyOf(notes);
    }

    public String line() {
        return String.format("%s: %,d files, %,d directories, %,d links; %s in, %s out (%.1f%%)%s%s%s; %.1f s",
                output, files, directories, links, Units.bytes(bytesIn), Units.bytes(bytesOut),
                bytesIn == 0 ? 0.0 : 100.0 * bytesOut / bytesIn,
                relocatedElf > 0 ? "; " + relocatedElf + " RUNPATHs relocated" : "",
                compiledPyc > 0 ? "; " + compiledPyc + " modules compiled" : "",
                relocatable > 0 ? "; " + relocatable + " files to relocate at unpack" : "",
                millis / 1000.0);
    }
}
