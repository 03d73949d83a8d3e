package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class HeaderTest {
    @Test
    void headersRoundTripWithTheirErrorsAndCodes() {
        List<Header> hs = List.of(
                Header.ok("/shared/py311.tar.zst", 222L << 20, "/shared/py311.tar.zst:232783872:2026-11-24T10:00:00Z", "ab".repeat(32)),
                Header.failed("/shared/missing.tar.zst", ExitCode.BUNDLE, "bundle /shared/missing.tar.zst does not exist"),
                Header.ok("mirror " + "é".repeat(40_000), 5L << 32, "", ""));
        List<Header> back = Header.decode(Header.encode(hs));
        assertThat(back).isEqualTo(hs);
        assertThat(back.get(1).failed()).isTrue();
        assertThat(back.get(1).code()).isEqualTo(ExitCode.BUNDLE);
        assertThat(back.get(2).size()).as("sizes beyond 2^31").isEqualTo(5L << 32);
        assertThat(Header.decode(Header.encode(List.of()))).isEmpty();
    }
}
