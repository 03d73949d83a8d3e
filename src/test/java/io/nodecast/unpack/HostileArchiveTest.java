package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Every hostile archive is refused with its own code and a one-line message naming it; nothing outside DEST moves. */
class HostileArchiveTest {
    @TempDir Path tmp;
    Sandbox box;

    @BeforeEach
    void setUp() throws IOException {
        box = new Sandbox(tmp);
    }

    static List<HostileCorpus.Case> corpus() {
        return HostileCorpus.all();
    }

    static Stream<Object[]> corpusBothWays() {
        return HostileCorpus.all().stream().flatMap(c -> Stream.of(new Object[] {c, true}, new Object[] {c, false}));
    }

    @ParameterizedTest(name = "{0} (openat2: {1})")
    @MethodSource("corpusBothWays")
    void isRefusedAndTouchesNothingOutside(HostileCorpus.Case c, boolean openat2) throws IOException {
        byte[] archive = c.archive().apply(box.outside);
        NodecastException e = catchThrowableOfType(NodecastException.class,
                () -> box.unpack(archive, Containment.ALL, openat2, 0));
        assertThat(e).as("%s must be refused", c.name()).isNotNull();
        assertThat(e.exitCode()).as(e.getMessage()).isEqualTo(c.code());
        assertThat(e.getMessage()).contains("bundle.tar").contains(c.mentions()).doesNotContain("\n");
        assertThat(e.getMessage().length()).as("one readable line").isLessThan(600);
        box.assertUntouched();
    }

    static List<HostileCorpus.Accepted> accepted() {
        return HostileCorpus.accepted();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void oddButLegitimateSequencesUnpackAsSequentialTarWould(HostileCorpus.Accepted a) throws IOException {
        box.unpack(a.archive());
        assertThat(box.tree()).isEqualTo(new java.util.TreeMap<>(a.tree()));
        box.assertUntouched();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void aRefusalLeavesDestinationUsable(HostileCorpus.Case c) throws IOException {
        try {
            box.unpack(c.archive().apply(box.outside));
        } catch (NodecastException expected) {
            assertThat(expected.exitCode()).isNotEqualTo(ExitCode.OK);
        }
        box.unpack(new io.nodecast.testing.RawTar().file("after", "fine").bytes());
        assertThat(box.tree()).containsEntry("after", "fine");
    }
}
