package io.nodecast.transport;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class BroadcastPlanTest {
    private static final int MIB = 1 << 20;

    @Test
    void everyMemberButRankZeroHasOneParentAndTheTreeReachesAll() {
        for (int k = 1; k <= 4; k++) {
            for (int p : List.of(1, 2, 3, 7, 8, 100, 1001)) {
                BroadcastPlan plan = new BroadcastPlan(k == 1 ? BroadcastAlgorithm.CHAIN : BroadcastAlgorithm.TREE, k, p, 100L * MIB, MIB);
                Set<Integer> reached = new HashSet<>(List.of(0));
                List<Integer> queue = new ArrayList<>(List.of(0));
                int maxDepth = 0;
                int[] depth = new int[p];
                while (!queue.isEmpty()) {
                    int r = queue.removeFirst();
                    for (int c : plan.children(r)) {
                        assertThat(plan.parent(c)).isEqualTo(r);
                        assertThat(reached.add(c)).as("reached once").isTrue();
                        depth[c] = depth[r] + 1;
                        maxDepth = Math.max(maxDepth, depth[c]);
                        queue.add(c);
                    }
                }
                assertThat(reached).hasSize(p);
                assertThat(plan.parent(0)).isEqualTo(-1);
                assertThat(plan.depth()).as("k=%d p=%d", k, p).isEqualTo(maxDepth);
            }
        }
    }

    @Test
    void segmentsCoverTheBundleExactly() {
        BroadcastPlan plan = BroadcastPlan.choose(BroadcastAlgorithm.CHAIN, 3, 50_000_123L, 8 * MIB);
        long sum = 0;
        for (long k = 0; k < plan.segments(); k++) sum += plan.length(k);
        assertThat(sum).isEqualTo(50_000_123L);
        assertThat(plan.segmentBytes() % 4096).isZero();
        assertThat(BroadcastPlan.choose(BroadcastAlgorithm.CHAIN, 3, 0, 8 * MIB).segments()).isZero();
    }

    @Test
    void aChainKeepsItsFillSmallAgainstTheBundleWhateverTheNodes() {
        // the pipeline's fill (members-2 extra segments) stays near 1/FILL_SHARE of the bundle, so 2 to 8 nodes differ little
        for (int p = 2; p <= 8; p++) {
            BroadcastPlan plan = BroadcastPlan.choose(BroadcastAlgorithm.CHAIN, p, 50L * 1000 * 1000, 8 * MIB);
            double fill = (double) (p - 2) * plan.segmentBytes() / plan.totalBytes();
            assertThat(fill).as("p=%d", p).isLessThanOrEqualTo(1.0 / BroadcastPlan.FILL_SHARE + 0.01);
            assertThat(plan.segmentBytes()).isBetween(BroadcastPlan.MIN_SEGMENT, 8 * MIB);
        }
        assertThat(BroadcastPlan.choose(BroadcastAlgorithm.CHAIN, 2, 212L * MIB, 4 * MIB).segmentBytes()).as("capped by the chunk").isEqualTo(4 * MIB);
        assertThat(BroadcastPlan.choose(BroadcastAlgorithm.CHAIN, 8, 50L * 1000 * 1000, 8 * MIB).segmentBytes()).as("floored").isEqualTo(BroadcastPlan.MIN_SEGMENT);
    }

    @Test
    void autoTakesAChainForFewNodesAndABinaryTreeForThousands() {
        assertThat(BroadcastPlan.choose(BroadcastAlgorithm.AUTO, 3, 212L * MIB, 8 * MIB).algorithm()).isEqualTo(BroadcastAlgorithm.CHAIN);
        assertThat(BroadcastPlan.choose(BroadcastAlgorithm.AUTO, 8, 50L * MIB, 8 * MIB).algorithm()).isEqualTo(BroadcastAlgorithm.CHAIN);
        BroadcastPlan big = BroadcastPlan.choose(BroadcastAlgorithm.AUTO, 10_000, 300L * 1000 * 1000, 8 * MIB);
        assertThat(big.algorithm()).isEqualTo(BroadcastAlgorithm.TREE);
        assertThat(big.fanout()).isEqualTo(2);
        assertThat(big.depth()).isEqualTo(13);
        // the tree's cost stays within a few bundles' worth even at 10,000 nodes; a chain's would be thousands of segments
        assertThat(big.cost()).isLessThan(3.0 * big.totalBytes());
        assertThat(BroadcastPlan.choose(BroadcastAlgorithm.CHAIN, 10_000, 300L * 1000 * 1000, 8 * MIB).cost()).isGreaterThan(10.0 * big.totalBytes());
    }

    @Test
    void theUsersChoiceIsKept() {
        assertThat(BroadcastPlan.choose(BroadcastAlgorithm.TREE, 3, 10 * MIB, MIB).fanout()).isEqualTo(2);
        BroadcastPlan ib = BroadcastPlan.choose(BroadcastAlgorithm.IBCAST, 3, 10 * MIB, MIB);
        assertThat(ib.algorithm()).isEqualTo(BroadcastAlgorithm.IBCAST);
        assertThat(ib.segmentBytes()).isEqualTo(MIB);
        assertThat(ib.describe()).contains("MPI_Ibcast");
        assertThat(BroadcastAlgorithm.parse(" Chain ")).isEqualTo(BroadcastAlgorithm.CHAIN);
    }
}
