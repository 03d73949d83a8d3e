package io.nodecast.transport;

import io.nodecast.core.NodecastException;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What each launcher's environment says about the world, and so which transport a step takes. */
class WorldTest {

    private static World of(Map<String, String> env) {
        return World.of(env, Optional.empty());
    }

    @Test
    void aLauncherIsToldFromAPlainProcess() {
        assertThat(of(Map.of("SLURM_STEP_NUM_TASKS", "1")).launched()).isFalse();
        assertThat(of(Map.of("SLURM_STEP_NUM_TASKS", "8")).launched()).isTrue();
        assertThat(of(Map.of("PMI_FD", "6")).launched()).isTrue();
        assertThat(of(Map.of()).launched()).isFalse();
    }

    @Test
    void aWorldOfOneRankIsToldByTheLauncherThatStartedIt() {
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "1")).alone()).isTrue();
        assertThat(of(Map.of("PMI_SIZE", "1", "PMI_RANK", "0")).alone()).isTrue();
        // mpirun -np 1 inside a batch job of 64 tasks: the launcher's own size wins over the allocation's
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "1", "SLURM_NTASKS", "64")).alone()).isTrue();
        assertThat(of(Map.of("PMI_SIZE", "4", "SLURM_NTASKS", "1")).alone()).isFalse();
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "2")).alone()).isFalse();
        // a size nobody told: MPI starts, as before
        assertThat(of(Map.of("PMIX_RANK", "0")).alone()).isFalse();
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "one")).alone()).isFalse();
    }

    @Test
    void openMpiSaysWhenEveryRankIsOnThisNodeAndNamesTheStep() {
        World w = of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "4",
                "PMIX_NAMESPACE", "71630849"));
        assertThat(w.sharesOneNode()).isTrue();
        assertThat(w.rank()).hasValue(2);
        assertThat(w.step()).hasValue("ompi-71630849");
        // two of four ranks here: the others are on another node, so the step needs MPI
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
                "PMIX_NAMESPACE", "71630849")).sharesOneNode()).isFalse();
        // no name for the step: nowhere to meet but MPI
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "4"))
                .sharesOneNode()).isFalse();
    }

    /** Each launcher's local rank: above 0, another rank leads the node; the tests' simulated nodes make their own leaders. */
    @Test
    void aRankThatWaitsOnItsNodeIsToldByItsLocalRank() {
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "1")).waitsOnItsNode()).isTrue();
        assertThat(of(Map.of("PMI_SIZE", "4", "MPI_LOCALRANKID", "3")).waitsOnItsNode()).isTrue();
        assertThat(of(Map.of("SLURM_STEP_NUM_TASKS", "8", "SLURM_LOCALID", "7")).waitsOnItsNode()).isTrue();
        assertThat(of(Map.of("PALS_LOCAL_RANKID", "2")).waitsOnItsNode()).isTrue();
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "0")).waitsOnItsNode()).isFalse();
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4")).waitsOnItsNode()).as("nobody says").isFalse();
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "x", "SLURM_LOCALID", "1")).waitsOnItsNode())
                .as("the first set speaks, as in bin/nodecast, even when it says nothing useful").isFalse();
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "", "SLURM_LOCALID", "1")).waitsOnItsNode())
                .as("an empty one is not set, as in bash's ${A:-B}").isTrue();
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "3", "NODECAST_SIMULATE_NODES", "2"))
                .waitsOnItsNode()).isFalse();
    }

    @Test
    void slurmSaysItWithTheStepsNodeCount() {
        Map<String, String> one = Map.of("SLURM_STEP_NUM_TASKS", "8", "SLURM_PROCID", "0", "SLURM_STEP_NUM_NODES", "1",
                "SLURM_JOB_ID", "1234", "SLURM_STEP_ID", "3");
        assertThat(of(one).sharesOneNode()).isTrue();
        assertThat(of(one).step()).hasValue("slurm-1234.3");
        assertThat(of(Map.of("SLURM_STEP_NUM_TASKS", "8", "SLURM_PROCID", "0", "SLURM_STEP_NUM_NODES", "2",
                "SLURM_JOB_ID", "1234", "SLURM_STEP_ID", "3")).sharesOneNode()).isFalse();
    }

    @Test
    void hydraNamesNoStepSoItsProxyMustAndAnotherParentWillNot() {
        Map<String, String> env = Map.of("PMI_SIZE", "2", "PMI_RANK", "1", "MPI_LOCALNRANKS", "2", "PMI_FD", "6");
        assertThat(of(env).oneNode()).isTrue();
        // this test's parent is not hydra's proxy: a rank started through a wrapper meets in MPI
        World w = World.of(env, ProcessHandle.current().parent());
        assertThat(w.step()).isEmpty();
        assertThat(w.sharesOneNode()).isFalse();
    }

    @Test
    void simulatedNodesAlwaysMeetInMpi() {
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_LOCAL_SIZE", "4",
                "PMIX_NAMESPACE", "7", "NODECAST_SIMULATE_NODES", "2")).sharesOneNode()).isFalse();
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4", "NODECAST_SIMULATE_NODES", " 2 ")).simulatedNodes()).hasValue(2);
        assertThat(of(Map.of("OMPI_COMM_WORLD_SIZE", "4")).simulatedNodes()).isEmpty();
        assertThatThrownBy(() -> of(Map.of("NODECAST_SIMULATE_NODES", "two"))).isInstanceOf(NodecastException.class)
                .hasMessageContaining("NODECAST_SIMULATE_NODES must be a positive number of nodes, not 'two'");
    }
}
