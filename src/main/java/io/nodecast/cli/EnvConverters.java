package io.nodecast.cli;

import io.nodecast.env.Language;
import io.nodecast.env.Shell;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** --lang and --shell as picocli converters: an unknown name is a usage error (exit 2) that lists the known ones. */
final class EnvConverters {
    private EnvConverters() {}

    static final class Languages implements ITypeConverter<Language> {
        @Override
        public Language convert(String value) {
            try {
                return Language.of(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class Shells implements ITypeConverter<Shell> {
        @Override
        public Shell convert(String value) {
            try {
                return Shell.of(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
