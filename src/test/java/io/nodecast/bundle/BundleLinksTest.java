package io.nodecast.bundle;

import io.nodecast.format.Compression;
import io.nodecast.unpack.Destination;
import io.nodecast.unpack.Extractor;
import io.nodecast.format.ChunkInputs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A bundle never holds what its own bcast refuses: links that leave it are resolved at bundle time. */
class BundleLinksTest {
    @TempDir Path tmp;
    Path prefix, outside;

    @BeforeEach
    void trees() throws IOException {
        prefix = Files.createDirectories(tmp.resolve("prefix"));
        outside = Files.createDirectories(tmp.resolve("etc-R"));
        Files.writeString(outside.resolve("Renviron.site"), "R_LIBS_SITE=x\n");
        Files.createDirectories(outside.resolve("conf.d"));
        Files.writeString(outside.resolve("conf.d/a.conf"), "a\n");
        Files.createSymbolicLink(outside.resolve("conf.d/self"), Path.of("."));       // a loop inside the copied tree
        Files.createSymbolicLink(outside.resolve("conf.d/up"), Path.of(".."));        // a loop around it
        Files.createSymbolicLink(outside.resolve("conf.d/back"), prefix.resolve("lib/real.txt")); // back into the bundle
        Files.createDirectories(prefix.resolve("etc"));
        Files.createDirectories(prefix.resolve("lib"));
        Files.writeString(prefix.resolve("lib/real.txt"), "real\n");
        Files.createSymbolicLink(prefix.resolve("etc/Renviron.site"), outside.resolve("Renviron.site"));
        Files.createSymbolicLink(prefix.resolve("etc/confdir"), outside.resolve("conf.d"));
        Files.createSymbolicLink(prefix.resolve("etc/relative-out"), Path.of("../../etc-R/Renviron.site"));
        Files.createSymbolicLink(prefix.resolve("etc/abs-in"), prefix.resolve("lib/real.txt"));
        Files.createSymbolicLink(prefix.resolve("etc/rel-in"), Path.of("../lib/real.txt"));
        Files.createSymbolicLink(prefix.resolve("etc/dangling"), tmp.resolve("nowhere"));
        Files.createSymbolicLink(prefix.resolve("etc/everything"), Path.of("/"));
    }

    private BundleSummary bundle(Path out) {
        return new BundleWriter(Compression.ZSTD, 0, 1, n -> { })
                .write(new BundleSpec(prefix, List.of(), Excludes.none(), PycMode.KEEP, false), out, Map.of());
    }

    private Path unpack(Path bundle) throws IOException {
        Path dest = tmp.resolve("dest");
        new Extractor(Destination.prepare(dest.toString(), "h"), Extractor.Options.defaults())
                .extract(ChunkInputs.of(bundle, 1 << 16), bundle.toString());
        return dest;
    }

    @Test
    void linksThatLeaveAreFollowedAndTheBundleUnpacksUnderItsOwnRules() throws IOException {
        Path b = tmp.resolve("b.tar.zst");
        BundleSummary s = bundle(b);
        Path dest = unpack(b);  // the extractor refuses absolute and escaping links: it must not throw

        assertThat(dest.resolve("etc/Renviron.site")).isRegularFile().hasContent("R_LIBS_SITE=x");
        assertThat(dest.resolve("etc/relative-out")).isRegularFile().hasContent("R_LIBS_SITE=x");
        assertThat(dest.resolve("etc/confdir")).isDirectory();
        assertThat(dest.resolve("etc/confdir/a.conf")).hasContent("a");
        assertThat(Files.readSymbolicLink(dest.resolve("etc/confdir/self")).toString()).isEqualTo(".");
        assertThat(dest.resolve("etc/confdir/up")).doesNotExist();
        assertThat(Files.readSymbolicLink(dest.resolve("etc/confdir/back")).toString()).isEqualTo("../../lib/real.txt");
        assertThat(dest.resolve("etc/confdir/back")).hasContent("real");
        assertThat(Files.readSymbolicLink(dest.resolve("etc/abs-in")).toString()).isEqualTo("../lib/real.txt");
        assertThat(Files.readSymbolicLink(dest.resolve("etc/rel-in")).toString()).isEqualTo("../lib/real.txt");
        assertThat(dest.resolve("etc/dangling")).doesNotExist();
        assertThat(dest.resolve("etc/everything")).doesNotExist();

        assertThat(s.notes()).contains(
                "etc/Renviron.site -> " + outside.resolve("Renviron.site") + ": leads outside the bundle; " + outside.resolve("Renviron.site") + " is copied in",
                "etc/confdir -> " + outside.resolve("conf.d") + ": leads outside the bundle; the directory " + outside.resolve("conf.d") + " is copied in",
                "etc/abs-in -> " + prefix.resolve("lib/real.txt") + ": inside the bundle, written as ../lib/real.txt",
                "etc/dangling -> " + tmp.resolve("nowhere") + ": leads outside the bundle to nothing; left out",
                "etc/everything -> /: leads to /, which holds what the bundle already copies (a loop); left out",
                "etc/confdir/up -> ..: leads to " + outside + ", which holds what the bundle already copies (a loop); left out");
        assertThat(s.notes()).noneMatch(n -> n.startsWith("etc/rel-in"));
    }

    @Test
    void gnuTarSeesOnlyRelativeLinksThatStayInside() throws Exception {
        Path b = tmp.resolve("b.tar.zst");
        bundle(b);
        String listing = io.nodecast.testing.Trees.run(tmp, "tar", "--zstd", "-tvf", b.toString());
        assertThat(listing.lines().filter(l -> l.startsWith("l")))
                .allSatisfy(l -> assertThat(l.substring(l.indexOf(" -> ") + 4)).doesNotStartWith("/"));
    }
}
