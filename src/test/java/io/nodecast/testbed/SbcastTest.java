package io.nodecast.testbed;

import io.nodecast.core.ExitCode;
import io.nodecast.image.PythonImage;
import io.nodecast.env.Shell;
import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Slurm's sbcast as the transport, on the test bed's real Slurm: the paper's generic job script with a launcher
 * whose steps have no MPI (activate.sh then delivers with sbcast), the same with the tier 1 as a squashfs image,
 * and a node that fails, named on one line, with nothing marked complete there.
 */
@Tag("cluster")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SbcastTest {
    static final Path WORK = Testbed.SHARED.resolve("sbcast");

    @BeforeAll
    static void up() throws Exception {
        assumeTrue(Testbed.SLURM, "the test bed's configuration says TB_SLURM=no");
        Testbed.up();
        Testbed.stagePapersJob();
        Files.createDirectories(WORK);
        Files.createDirectories(SlurmTest.JOBS);
    }

    @AfterAll
    static void down() {
        if (Testbed.SLURM) Testbed.down();
    }

    private static SlurmTest.Job sbatch(String name, Map<String, String> env, String script) throws Exception {
        return SlurmTest.sbatch(name, env, script);
    }

    @Test
    @Order(1)
    void thePapersGenericScriptWithoutMpiInItsBcastStepDeliversWithSbcast() throws Exception {
        SlurmTest.Job job = sbatch("paper-generic-sbcast", SlurmTest.jobEnv("PYTHONUSERBASE", Testbed.SHARED.resolve("userbase").toString(),
                "LAUNCH", "srun --mpi=none -n 6"), "paper-generic.sh");
        assertThat(job.exit()).as(job.output() + job.sbatchErr()).isZero();
        assertThat(job.output()).contains("py311-tier1.tar.zst: ", "mpi4py-tier2.tar.zst: ").containsPattern("to 3 node\\(s\\) with sbcast");
        SlurmTest.assertSixRanksOnEveryHost(job.output());
        Matcher m = SlurmTest.RANK.matcher(job.output());
        while (m.find()) assertThat(m.group(5)).startsWith("/dev/shm/local/lib/python3.11/site-packages/mine/");
        SlurmTest.assertDevShmEmptyEverywhere();
    }

    @Test
    @Order(2)
    void thePapersGenericScriptRunsAsItIsWithTheTier1AsAnImage() throws Exception {
        // the same job script and bundle names; the tier 1 is an image (bcast tells a bundle by its content)
        Path shared = Files.createDirectories(WORK.resolve("image-job/bundles"));
        Path image = Files.copy(PythonImage.image(), shared.resolve("py311-tier1.tar.zst"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(shared.resolve("py311-tier1.tar.zst.sha256"), Files.readString(Path.of(PythonImage.image() + ".sha256")));
        Files.copy(Testbed.BUNDLES.resolve("mpi4py-tier2.tar.zst"), shared.resolve("mpi4py-tier2.tar.zst"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(Testbed.BUNDLES.resolve("mpi4py-tier2.tar.zst.sha256"), shared.resolve("mpi4py-tier2.tar.zst.sha256"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path link = WORK.resolve("image-job/mytestapp");
        if (!Files.exists(link)) Files.createSymbolicLink(link, Testbed.SHARED.resolve("mytestapp"));
        Path report = WORK.resolve("mounts.txt");
        Files.deleteIfExists(report);
        // each rank notes what is mounted at DEST on its node, then runs the application
        Path wrap = WORK.resolve("wrap.sh");
        Files.writeString(wrap, "#!/bin/sh\nfindmnt -rn -o TARGET,FSTYPE | grep /dev/shm/local >> " + report + "\nexec \"$@\"\n");
        wrap.toFile().setExecutable(true);
        SlurmTest.Job job = sbatch("paper-generic-image", SlurmTest.jobEnv("SHARED", WORK.resolve("image-job").toString(),
                "PYTHONUSERBASE", Testbed.SHARED.resolve("userbase").toString(), "LAUNCH", "srun --mpi=none -n 6",
                "RUN", "srun -n 6 " + wrap), "paper-generic.sh");
        assertThat(job.exit()).as(job.output() + job.sbatchErr()).isZero();
        SlurmTest.assertSixRanksOnEveryHost(job.output());
        // every rank ran from the image, mounted under the overlay on its node
        assertThat(Files.readAllLines(report)).hasSize(6).containsOnly("/dev/shm/local fuse.fuse-overlayfs");
        SlurmTest.assertDevShmEmptyEverywhere();
        for (String h : Testbed.COMPUTE) {
            assertThat(Testbed.on(h, "findmnt", "-rn", "-o", "TARGET").out()).doesNotContain("/dev/shm/");
        }
    }

    @Test
    @Order(3)
    void aNodeThatFailsIsNamedOnOneLineAndHasNothingMarkedComplete() throws Exception {
        // n2's DEST is a file system too small for the bundle; n1 and n3 are fine
        String n2 = Testbed.COMPUTE.get(1);
        assertThat(Testbed.on(n2, "sh", "-c", "mkdir -p /dev/shm/local && mount -t tmpfs -o size=64k,mode=0700 tmpfs /dev/shm/local").exit()).isZero();
        try {
            Path script = WORK.resolve("fail.sh");
            Files.writeString(script, """
                    #!/bin/bash
                    %1$s bcast --transport slurm -p /dev/shm/local %2$s/mpi4py-tier2.tar.zst
                    echo "bcast exit $?"
                    srun -N 3 -n 3 --mpi=none sh -c 'echo "ledger on $(hostname): $(cat /dev/shm/local/.nodecast/ledger 2>/dev/null | wc -l) $(ls /dev/shm/local/lib/python3.11/site-packages 2>/dev/null)"'
                    %1$s purge --transport slurm -p /dev/shm/local
                    echo "purge exit $?"
                    """.formatted(Shell.quote(Launcher.nodecast().toString()), Shell.quote(Testbed.BUNDLES.toString())));
            Path out = WORK.resolve("fail.out");
            Files.deleteIfExists(out);
            Launcher.Result r = Testbed.on(Testbed.HEAD, "sbatch", "--wait", "-N", "3", "--time=10", "--output=" + out, script.toString());
            String o = Files.readString(out);
            assertThat(o).as(r.err()).contains("bcast exit " + ExitCode.NO_SPACE.code(), "ledger on n1: 1 mpi4py", "ledger on n3: 1 mpi4py",
                    "ledger on " + n2 + ": 0");
            List<String> errors = o.substring(0, o.indexOf("bcast exit")).lines().filter(l -> l.startsWith("nodecast:")).toList();
            assertThat(errors).hasSize(1);
            // the bundle as the user named it, not the node-local copy it was delivered from
            assertThat(errors.getFirst()).startsWith("nodecast: " + n2 + " (rank 1): ")
                    .contains("/dev/shm/local is full", Testbed.BUNDLES.resolve("mpi4py-tier2.tar.zst").toString())
                    .doesNotContain(".nodecast-sbcast");
        } finally {
            Testbed.on(n2, "umount", "/dev/shm/local");
            Testbed.on(n2, "rm", "-rf", "/dev/shm/local", "/dev/shm/.local.nodecast-sbcast");
        }
    }

    @Test
    @Order(4)
    void underSrunTheSlurmTransportIsRefused() {
        Launcher.Result r = Testbed.on(Testbed.HEAD, "srun", "-N", "1", "-n", "1", "--mpi=none", Launcher.nodecast().toString(), "bcast",
                "--transport", "slurm", Testbed.BUNDLES.resolve("mpi4py-tier2.tar.zst").toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--transport slurm runs once from the batch script, not under srun");
    }
}
