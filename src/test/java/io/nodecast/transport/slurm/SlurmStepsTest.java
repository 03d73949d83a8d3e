package io.nodecast.transport.slurm;

import io.nodecast.core.ExitCode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** When activate.sh delivers with sbcast, and the lines and manifests the batch step and the nodes exchange. */
class SlurmStepsTest {
    static final Map<String, String> JOB = Map.of("SLURM_JOB_ID", "42");

    @Test
    void srunWithoutMpiInAnAllocationDeliversWithSbcast() {
        AtomicInteger asked = new AtomicInteger();
        assertThat(SlurmSteps.withoutMpi("srun --mpi=none -N 4", JOB, () -> "pmix")).isTrue();
        assertThat(SlurmSteps.withoutMpi("/usr/bin/srun --mpi none -n 8", JOB, () -> "pmix")).isTrue();
        assertThat(SlurmSteps.withoutMpi("srun --mpi=pmix -N 4", JOB, () -> "none")).isFalse();
        // no --mpi: srun's own default decides, from the environment first, then from the cluster
        assertThat(SlurmSteps.withoutMpi("srun -N 4", Map.of("SLURM_JOB_ID", "42", "SLURM_MPI_TYPE", "none"), () -> "pmix")).isTrue();
        assertThat(SlurmSteps.withoutMpi("srun -N 4", JOB, () -> {
            asked.incrementAndGet();
            return "none";
        })).isTrue();
        assertThat(asked).hasValue(1);
        assertThat(SlurmSteps.withoutMpi("srun -N 4", JOB, () -> "pmix")).isFalse();
    }

    @Test
    void otherLaunchersAndNoAllocationKeepTheLauncher() {
        assertThat(SlurmSteps.withoutMpi("mpirun -np 4", JOB, () -> "none")).isFalse();
        assertThat(SlurmSteps.withoutMpi("", JOB, () -> "none")).isFalse();
        assertThat(SlurmSteps.withoutMpi("srun --mpi=none", Map.of(), () -> "none")).isFalse();
        assertThat(SlurmSteps.withoutMpi("srun --mpi=none", Map.of("SLURM_JOB_ID", "42", "NODECAST_TRANSPORT", "launcher"), () -> "none")).isFalse();
        assertThat(SlurmSteps.withoutMpi("mpirun", Map.of("NODECAST_TRANSPORT", "slurm"), () -> "pmix")).isTrue();
    }

    @Test
    void reportLinesAndManifestsSurviveTheTripWhateverTheyHold() {
        NodeReport ok = new NodeReport(2, "n3", ExitCode.OK, "", List.of(new NodeReport.Figures(true, 0, 0, 0),
                new NodeReport.Figures(false, 1.25, 42, 1 << 20)));
        assertThat(NodeReport.parse(ok.line())).contains(ok);
        NodeReport bad = new NodeReport(0, "n1", ExitCode.NO_SPACE, "no room\tfor\nit", List.of());
        assertThat(NodeReport.parse(bad.line())).hasValueSatisfying(r -> {
            assertThat(r.code()).isEqualTo(ExitCode.NO_SPACE);
            assertThat(r.message()).isEqualTo("no room for it");
        });
        assertThat(NodeReport.parse("srun: warning: something")).isEmpty();
        Manifest m = new Manifest(List.of(new Manifest.Item("/shared/a b.tar.zst", "a b.tar.zst", 12, "ab".repeat(32)),
                new Manifest.Item("/home/u/app [bin]", "app-1.tar.zst", 0, "cd".repeat(32))));
        assertThat(Manifest.decode(m.encode())).isEqualTo(m);
        assertThat(m.encode()).matches("[A-Za-z0-9_-]+");
    }
}
