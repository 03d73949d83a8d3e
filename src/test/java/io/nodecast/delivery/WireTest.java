package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The codec for what crosses ranks: explicit exit codes, strings of any length, failure lists cut to fit. */
class WireTest {
    @Test
    void exitCodesTravelAsTheirNumbersNotTheirPositions() {
        byte[] b = new Wire.Writer().exitCode(ExitCode.NO_SPACE).toByteArray();
        assertThat(new Wire.Reader(b, "test").integer()).isEqualTo(6).isEqualTo(ExitCode.NO_SPACE.code());
        for (ExitCode c : ExitCode.values()) {
            assertThat(new Wire.Reader(new Wire.Writer().exitCode(c).toByteArray(), "test").exitCode()).isEqualTo(c);
        }
        assertThat(ExitCode.of(250)).as("a code from a newer peer").isEqualTo(ExitCode.FAILURE);
    }

    @Test
    void stringsLongerThanDataOutputsLimitSurvive() {
        String big = "x".repeat(100_000) + "é";
        byte[] b = new Wire.Writer().string(big).integer(7).toByteArray();
        Wire.Reader in = new Wire.Reader(b, "test");
        assertThat(in.string()).isEqualTo(big);
        assertThat(in.integer()).isEqualTo(7);
    }

    @Test
    void aCutNeverSplitsACharacterAndSaysItWasCut() {
        String s = "ééééé";  // 2 bytes each
        String cut = Wire.cut(s, 8);
        assertThat(cut).isEqualTo("éé...");
        assertThat(cut.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(8);
        assertThat(Wire.cut("short", 8)).isEqualTo("short");
    }

    @Test
    void aTruncatedMessageIsReportedAsCorruptNotMisread() {
        byte[] b = new Wire.Writer().string("hello world").toByteArray();
        assertThatThrownBy(() -> new Wire.Reader(Arrays.copyOf(b, 8), "bundle list").string())
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("corrupt bundle list");
    }

    @Test
    void failuresRoundTripAndAnAllZeroRecordIsNoFailure() {
        List<NodeFailure> fs = List.of(new NodeFailure("n2", 4, ExitCode.NO_SPACE, "/dev/shm/local is full"),
                new NodeFailure("n3", 6, ExitCode.BUNDLE, "checksum"));
        byte[] rec = Arrays.copyOf(Wire.failures(fs, Agreement.RECORD), Agreement.RECORD);  // padded as on the wire
        assertThat(Wire.failures(rec)).isEqualTo(fs);
        assertThat(Wire.failures(new byte[Agreement.RECORD])).isEmpty();
    }

    @Test
    void aLongMessageIsCutToFitItsRecord() {
        NodeFailure f = new NodeFailure("n1", 1, ExitCode.UNSAFE, "entry " + "a/".repeat(5000) + " leaves DEST");
        byte[] rec = Wire.failures(List.of(f), Agreement.RECORD);
        assertThat(rec.length).isLessThanOrEqualTo(Agreement.RECORD);
        NodeFailure back = Wire.failures(rec).getFirst();
        assertThat(back.host()).isEqualTo("n1");
        assertThat(back.code()).isEqualTo(ExitCode.UNSAFE);
        assertThat(back.message()).startsWith("entry a/a/").endsWith("...");
    }

    @Test
    void failuresBeyondTheCapacityAreCountedNotLost() {
        List<NodeFailure> many = new ArrayList<>();
        for (int i = 0; i < 200; i++) many.add(new NodeFailure("node" + i, i, ExitCode.NO_SPACE, "x".repeat(300)));
        byte[] v = Wire.failures(many, 8 << 10);
        assertThat(v.length).isLessThanOrEqualTo(8 << 10);
        List<NodeFailure> back = Wire.failures(v);
        NodeFailure last = back.getLast();
        int kept = back.size() - 1;
        assertThat(kept).isBetween(10, 40);
        assertThat(back.subList(0, kept)).isEqualTo(many.subList(0, kept));
        assertThat(last.host()).isEqualTo("(" + (200 - kept) + " more nodes)");
        assertThat(last.code()).isEqualTo(ExitCode.NO_SPACE);
        assertThat(last.message()).contains("did not fit");
    }
}
