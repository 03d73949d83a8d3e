package io.nodecast.cli;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Cli;
import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** What a user sees first: the version, the list of commands, and a bad name given to a command. */
class MainTest {
    @Test
    void versionIsTheBuildsOwnAndNamesTheJavaRuntime() {
        String version = System.getProperty("nodecast.version");
        assertThat(version).as("set by the pom for the tests").isNotBlank();
        Cli r = Cli.run("--version");
        assertThat(r.exit()).isZero();
        assertThat(r.out().lines().toList()).first().isEqualTo("nodecast " + version);
        assertThat(r.out()).contains("Java " + Runtime.version());
        // the same from the launcher, on the built jar
        Launcher.Result l = Launcher.run(Map.of(), "--version");
        assertThat(l.exit()).as(l.err()).isZero();
        assertThat(l.out()).startsWith("nodecast " + version + "\n");
    }

    @Test
    void everyCommandIsListedWithAWholeSentence() {
        Cli r = Cli.run("--help");
        assertThat(r.exit()).isZero();
        // "  name   Sentence that may wrap
        //            onto indented lines."
        String commands = r.out().substring(r.out().indexOf("Commands:"), r.out().indexOf("Exit codes:"));
        Matcher m = Pattern.compile("(?m)^  (\\w+)\\s+(\\S.*(?:\\n {10,}\\S.*)*)").matcher(commands);
        int n = 0;
        while (m.find()) {
            n++;
            String sentence = m.group(2).replaceAll("\\s+", " ").strip();
            assertThat(sentence).as(m.group(1)).matches("[A-Z].*\\.");
        }
        assertThat(n).isEqualTo(9);
        Cli bundle = Cli.run("bundle", "--help");
        Matcher b = Pattern.compile("(?m)^  (prefix|pip|userbase|dir|syslibs)\\s+(\\S.*(?:\\n {10,}\\S.*)*)").matcher(bundle.out());
        int kinds = 0;
        while (b.find()) {
            kinds++;
            assertThat(b.group(2).replaceAll("\\s+", " ").strip()).as(b.group(1)).matches("[A-Z].*\\.");
        }
        assertThat(kinds).isEqualTo(5);
        // and each command's own help, with the exit codes
        for (String c : List.of("bundle", "bcast", "mirror", "env", "activate", "purge", "trace", "demo")) {
            Cli h = Cli.run(c, "--help");
            assertThat(h.exit()).as(c + " --help: " + h.err()).isZero();
            assertThat(h.out()).as(c).contains("Usage: nodecast " + c, "Exit codes:", "mirror refused a tree larger than");
        }
    }

    @Test
    void anUnknownLanguageOrShellIsAUsageErrorEverywhere() {
        for (List<String> args : List.of(List.of("env", "--lang", "cobol"), List.of("activate", "/dev/shm/x", "", "--lang", "cobol"),
                List.of("env", "--shell", "pwsh"))) {
            Cli r = Cli.run(args.toArray(String[]::new));
            assertThat(r.exit()).as(args + ": " + r.err()).isEqualTo(ExitCode.USAGE.code());
            assertThat(r.err()).as(args.toString()).containsPattern("unknown (language 'cobol' \\(python, r, julia\\)|shell 'pwsh')")
                    .doesNotContain("Exception").doesNotContain("\tat ");
        }
    }
}
