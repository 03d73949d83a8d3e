package io.nodecast.env;

import java.util.Optional;

/** One variable set to a value, or unset (an empty value). */
public record EnvChange(String name, Optional<String> value) {
    public static EnvChange set(String name, String value) {
        return new EnvChange(name, Optional.of(value));
    }

    public static EnvChange unset(String name) {
        return new EnvChange(name, Optional.empty());
    }
}
