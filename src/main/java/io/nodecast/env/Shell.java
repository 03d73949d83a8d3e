package io.nodecast.env;

import java.util.List;
import java.util.Locale;

/** How a shell is told to set and unset variables, for {@code eval "$(nodecast env)"}. */
public enum Shell {
    BASH, ZSH, CSH, FISH;

    public static Shell of(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "bash", "sh", "ksh" -> BASH;
            case "zsh" -> ZSH;
            case "csh", "tcsh" -> CSH;
            case "fish" -> FISH;
            default -> throw new IllegalArgumentException("unknown shell '" + name + "' (bash, zsh, csh, fish)");
        };
    }

    public String render(List<EnvChange> changes) {
        StringBuilder b = new StringBuilder();
        for (EnvChange c : changes) {
            String line = c.value().map(v -> switch (this) {
                case BASH, ZSH -> "export " + c.name() + "=" + quote(v) + ";";
                case CSH -> "setenv " + c.name() + " " + quote(v) + ";";
                case FISH -> "set -gx " + c.name() + " " + fishQuote(v) + ";";
            }).orElseGet(() -> switch (this) {
                case BASH, ZSH -> "unset " + c.name() + ";";
                case CSH -> "unsetenv " + c.name() + ";";
                case FISH -> "set -e " + c.name() + ";";
            });
            b.append(line).append('\n');
        }
        return b.toString();
    }

    /** fish's single quotes take backslash escapes instead. */
    static String fishQuote(String v) {
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** Single quotes, with embedded ones closed and reopened (POSIX shells and csh). */
    public static String quote(String v) {
        return "'" + v.replace("'", "'\"'\"'") + "'";
    }
}
