package io.nodecast.netdelay;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DelayLineTest {
    static final long MS = 1_000_000L;

    @Test
    void releasesNothingBeforeItsTimeAndThenTheDuePrefixInArrivalOrder() {
        Lateness late = new Lateness();
        DelayLine line = new DelayLine(5 * MS, 16, late);
        line.add(10, 0);
        line.add(11, 1 * MS);
        line.add(12, 2 * MS);
        assertThat(line.releaseDue(5 * MS - 1)).isEqualTo(DelayLine.NONE);
        assertThat(line.nextDue()).isEqualTo(5 * MS);
        assertThat(line.releaseDue(6 * MS + 500_000)).as("the last id of the due prefix: one batch verdict").isEqualTo(11);
        assertThat(line.size()).isEqualTo(1);
        assertThat(late.count()).isEqualTo(2);
        assertThat(late.maxMicros()).isEqualTo(1500);
        assertThat(line.releaseDue(100 * MS)).isEqualTo(12);
        assertThat(line.isEmpty()).isTrue();
    }

    @Test
    void idsAreUnsignedAndWrapAround() {
        DelayLine line = new DelayLine(0, 16, new Lateness());
        line.add(-1, 0);          // 0xffffffff
        assertThat(line.releaseDue(0)).isEqualTo(0xffff_ffffL);
        line.add(0, 1);
        assertThat(line.releaseDue(1)).isEqualTo(0);
    }

    @Test
    void growsBeyondItsFirstCapacityKeepingOrder() {
        DelayLine line = new DelayLine(MS, 16, new Lateness());
        for (int i = 0; i < 1000; i++) {
            line.add(i, i);
            if (i % 3 == 0) line.releaseDue(i - 999_000L);   // nothing due yet: head stays, ring wraps
        }
        assertThat(line.maxSize()).isEqualTo(1000);
        assertThat(line.releaseDue(MS + 499)).isEqualTo(499);
        assertThat(line.size()).isEqualTo(500);
        assertThat(line.releaseAll()).isEqualTo(999);
        assertThat(line.isEmpty()).isTrue();
        assertThat(line.releaseAll()).isEqualTo(DelayLine.NONE);
    }

    @Test
    void latenessQuantilesAreUpperBoundsInPowersOfTwoMicroseconds() {
        Lateness late = new Lateness();
        for (int i = 0; i < 99; i++) late.record(20_000);   // 20 us
        late.record(3_000_000);                              // 3 ms
        assertThat(late.quantileMicros(0.5)).isEqualTo(32);
        assertThat(late.quantileMicros(0.999)).isEqualTo(4096);
        assertThat(late.maxMicros()).isEqualTo(3000);
    }

    @Test
    void optionsNameWhatIsWrong() {
        assertThat(Main.Options.parse(java.util.List.of("--delay-ms", "0.5")).delayMs()).isEqualTo(0.5);
        assertThatThrownBy(() -> Main.Options.parse(java.util.List.of("--queue", "1")))
                .hasMessage("--delay-ms is required");
        assertThatThrownBy(() -> Main.Options.parse(java.util.List.of("--delay-ms", "x")))
                .hasMessage("--delay-ms: not a number: x");
        assertThatThrownBy(() -> Main.Options.parse(java.util.List.of("--delay-ms", "5", "--rt-priority", "100")))
                .hasMessageContaining("--rt-priority: 100 is outside");
    }
}
