package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.testing.RawTar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * Each rule of {@link Containment} is switched off in turn, and some archive of the hostile corpus must then come out
 * differently: accepted, refused for another reason, or (for the kernel's own rule) actually escaping. A rule no
 * test notices missing would be a hope, not a rule.
 */
class ContainmentRulesTest {
    @TempDir Path tmp;

    record Outcome(ExitCode code, String message) {}

    private Outcome run(HostileCorpus.Case c, Set<Containment.Rule> rules, Path dir) throws IOException {
        Sandbox box = new Sandbox(Files.createDirectories(dir));
        try {
            box.unpack(c.archive().apply(box.outside), rules, true, 0);
            return new Outcome(ExitCode.OK, "");
        } catch (NodecastException e) {
            return new Outcome(e.exitCode(), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Containment.Rule.class, names = {"KERNEL_BENEATH", "SAFE_MODES", "OWNED_DIRECTORIES"},
            mode = EnumSource.Mode.EXCLUDE)
    void everyNameRuleIsNoticedWhenSwitchedOff(Containment.Rule rule) throws IOException {
        Set<Containment.Rule> without = EnumSet.copyOf(Containment.ALL);
        without.remove(rule);
        int changed = 0;
        int i = 0;
        for (HostileCorpus.Case c : HostileCorpus.all()) {
            Outcome with = run(c, Containment.ALL, tmp.resolve("on" + i));
            Outcome off = run(c, without, tmp.resolve("off" + i));
            i++;
            if (!with.equals(off)) changed++;
        }
        assertThat(changed).as("cases that come out differently without %s", rule).isPositive();
    }

    @Test
    void withoutTheKernelsRuleTheChainedLinksEscape() throws IOException {
        HostileCorpus.Case chain = HostileCorpus.all().getFirst();
        Set<Containment.Rule> without = EnumSet.copyOf(Containment.ALL);
        without.remove(Containment.Rule.KERNEL_BENEATH);
        Sandbox box = new Sandbox(Files.createDirectories(tmp.resolve("escape")));
        try {
            box.unpack(chain.archive().apply(box.outside), without, false, 0);
        } catch (NodecastException ignored) {
            // whether or not it reports something, the point is where it wrote
        }
        assertThat(box.outside.resolve("pwned")).as("the escape the kernel prevents").exists();

        Sandbox safe = new Sandbox(Files.createDirectories(tmp.resolve("safe")));
        Outcome o = run(chain, Containment.ALL, tmp.resolve("safe2"));
        assertThat(o.code()).isEqualTo(ExitCode.UNSAFE);
        safe.assertUntouched();
    }

    @Test
    void withoutSafeModesSetuidSurvives() throws IOException {
        byte[] suid = new RawTar().header("suid", '0').mode(06777).end().bytes();
        Sandbox on = new Sandbox(Files.createDirectories(tmp.resolve("on")));
        on.unpack(suid);
        assertThat((Integer) Files.getAttribute(on.dest.resolve("suid"), "unix:mode") & 07777).isEqualTo(0775);
        Set<Containment.Rule> without = EnumSet.copyOf(Containment.ALL);
        without.remove(Containment.Rule.SAFE_MODES);
        Sandbox off = new Sandbox(Files.createDirectories(tmp.resolve("off")));
        off.unpack(suid, without, true, 0);
        assertThat((Integer) Files.getAttribute(off.dest.resolve("suid"), "unix:mode") & 07000).isNotZero();
    }

    @Test
    void withoutOwnershipChecksAnotherUsersDirectoryIsWrittenInto() throws IOException {
        assumeThat(System.getProperty("user.name")).as("needs root to give a directory away").isEqualTo("root");
        byte[] into = new RawTar().file("theirs/planted", "x").bytes();
        Sandbox on = new Sandbox(Files.createDirectories(tmp.resolve("on")));
        on.unpack(new RawTar().dir("theirs").bytes());
        Files.setAttribute(on.dest.resolve("theirs"), "unix:uid", 4242);
        NodecastException e = org.assertj.core.api.Assertions.catchThrowableOfType(NodecastException.class, () -> on.unpack(into));
        assertThat(e.exitCode()).isEqualTo(ExitCode.DESTINATION);
        assertThat(e.getMessage()).contains("theirs", "4242");
        assertThat(on.dest.resolve("theirs/planted")).doesNotExist();

        Set<Containment.Rule> without = EnumSet.copyOf(Containment.ALL);
        without.remove(Containment.Rule.OWNED_DIRECTORIES);
        on.unpack(into, without, true, 0);
        assertThat(on.dest.resolve("theirs/planted")).exists();
    }
}
