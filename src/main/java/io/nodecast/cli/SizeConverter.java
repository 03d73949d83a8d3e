package io.nodecast.cli;

import io.nodecast.core.Units;
import picocli.CommandLine;

/** Sizes on the command line: 50M, 8MiB, 1G; "none" for no limit. A bad one is a usage error. */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        if (value.equalsIgnoreCase("none") || value.equalsIgnoreCase("unlimited")) return Long.MAX_VALUE;
        try {
            return Units.parseBytes(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
