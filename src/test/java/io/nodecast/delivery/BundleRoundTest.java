package io.nodecast.delivery;

import io.nodecast.bundle.Checksums;
import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The decisions a bundle's round makes from what the leaders exchanged. */
class BundleRoundTest {
    private static final List<String> HOSTS = List.of("n1", "n2", "n3", "n4");

    @Test
    void onlyTheNodesThatNeedABundleReceiveItAndTheOthersAreNamed() {
        BundleRound.Participation p = BundleRound.Participation.of(new byte[] {0, 1, 0, 1}, HOSTS, 1);
        assertThat(p.receivers().stream().toArray()).containsExactly(1, 3);
        assertThat(p.skipped()).containsExactly("n1", "n3");
        assertThat(p.skippedNames()).isEqualTo("n1, n3");
        assertThat(p.needsHere()).isTrue();
        assertThat(p.receiving()).isEqualTo(2);
        assertThat(p.nobody()).isFalse();
        assertThat(BundleRound.Participation.of(new byte[] {0, 1, 0, 1}, HOSTS, 0).needsHere()).as("node 0 sends but unpacks nothing").isFalse();
    }

    @Test
    void whenEveryNodeHasItNothingIsSent() {
        BundleRound.Participation p = BundleRound.Participation.of(new byte[4], HOSTS, 2);
        assertThat(p.nobody()).isTrue();
        assertThat(p.skipped()).hasSize(4);
    }

    @Test
    void aLongListOfSkippedNodesIsCounted() {
        byte[] needs = new byte[100];
        needs[99] = 1;
        List<String> hosts = java.util.stream.IntStream.range(0, 100).mapToObj(i -> "nid" + i).toList();
        String names = BundleRound.Participation.of(needs, hosts, 0).skippedNames();
        assertThat(names).startsWith("nid0, nid1").endsWith("and 91 more");
    }

    private static final Header H = Header.ok("/s/t1.tar.zst", 10, "fp", "aa");

    @Test
    void rankZeroSaysWhenTheBundleDisagreesWithItsChecksumFileAndOnlyItReportsThat() {
        BundleRound.Verdict v = BundleRound.Verdict.decode(BundleRound.Verdict.ofSent(H, "bb", Optional.empty(), null).encode());
        assertThat(v.ok()).isFalse();
        assertThat(v.problem()).contains("/s/t1.tar.zst.sha256", "expected aa");
        assertThat(v.check(H.label(), true, "bb")).map(NodecastException::exitCode).contains(ExitCode.BUNDLE);
        assertThat(v.check(H.label(), false, "bb")).as("the other leaders leave the reporting to rank 0").isEmpty();
    }

    @Test
    void aLeaderThatReceivedOtherBytesFailsAndOneThatTookNoPartDoesNot() {
        BundleRound.Verdict v = BundleRound.Verdict.ofSent(H, "aa", Optional.empty(), null);
        assertThat(v.ok()).isTrue();
        assertThat(v.check(H.label(), false, "aa")).isEmpty();
        assertThat(v.check(H.label(), false, "cc")).get().extracting(NodecastException::getMessage).asString()
                .contains("differ from what rank 0 read");
        assertThat(v.check(H.label(), false, "")).as("skipped node").isEmpty();
    }

    @Test
    void aReadErrorOnRankZeroFailsTheBundleEvenWithoutAChecksumFile() {
        Header noSidecar = Header.ok("/s/t2.tar", 10, "fp", "");
        BundleRound.Verdict v = BundleRound.Verdict.ofSent(noSidecar, "dd", Optional.of("cannot read bundle /s/t2.tar: I/O error"), null);
        assertThat(v.check(noSidecar.label(), true, "dd")).get().extracting(NodecastException::getMessage).asString().contains("I/O error");
        assertThat(BundleRound.Verdict.ofSent(noSidecar, "dd", Optional.empty(), null).ok()).isTrue();
    }

    @Test
    void aChecksumFileOlderThanItsBundleIsStillCheckedButNamesNothing(@TempDir Path tmp) throws IOException {
        Path bundle = Files.writeString(tmp.resolve("t3.tar"), "new bytes");
        Path side = Files.writeString(tmp.resolve("t3.tar.sha256"), "ee".repeat(32) + "  t3.tar\n");
        Files.setLastModifiedTime(side, FileTime.fromMillis(Files.getLastModifiedTime(bundle).toMillis() - 60_000));
        assertThat(Checksums.readSidecar(bundle, Files.readAttributes(bundle, BasicFileAttributes.class)))
                .as("a stale sidecar is not the bundle's identity (the ledger would skip a changed bundle)").isEmpty();
        Header stale = Header.ok(bundle.toString(), 9, "fp", "");
        BundleRound.Verdict v = BundleRound.Verdict.ofSent(stale, "ff".repeat(32), Optional.empty(), bundle);
        assertThat(v.ok()).as("but it is still checked against").isFalse();
        assertThat(v.problem()).contains("older than the bundle", "remake the checksum file");
        assertThat(BundleRound.Verdict.ofSent(stale, "ee".repeat(32), Optional.empty(), bundle).ok()).as("a touch alone").isTrue();
    }
}
