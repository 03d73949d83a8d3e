package io.nodecast.e2e;

import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The site configuration that ships: a placeholder a centre fills in, which says so when it has not. */
class SiteConfigurationTest {
    @Test
    void theShippedConfigurationPointsNowhereAndSiteActivationSaysWhatToSet() throws Exception {
        Path conf = Launcher.home().resolve("site/site.conf");
        assertThat(Files.readString(conf)).doesNotContain("testbed").contains("\nNODECAST_SITE_BUNDLES=\n");
        Launcher.Result r = Launcher.exec(List.of("bash", "-c", "source \"$1/site/activate.sh\"; echo still running", "bash",
                Launcher.home().toString()), Map.of("SLURM_JOB_NUM_NODES", "1"));
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.err().strip()).isEqualTo("nodecast site: the site has not said where its bundles are: set NODECAST_SITE_BUNDLES in "
                + Launcher.home().resolve("site") + "/site.conf");
        assertThat(r.out()).doesNotContain("still running");
    }
}
