package io.nodecast.e2e;

import io.nodecast.testing.Launcher;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The distribution a computing centre unpacks (target/nodecast-VERSION.tar.gz): it runs from wherever it is unpacked,
 * a path with a space included, without Maven, without building and without a JDK on the machine.
 */
class DistributionIT {
    static final String VERSION = System.getProperty("nodecast.version");

    @TempDir Path tmp;

    /** The tarball unpacked under a directory whose name has a space. */
    private Path unpack() throws Exception {
        Path dist = Launcher.home().resolve("target/nodecast-" + VERSION + ".tar.gz");
        assertThat(dist).exists();
        Path into = Files.createDirectories(tmp.resolve("centre apps"));
        Trees.run(into, "tar", "-xzf", dist.toString());
        return into.resolve("nodecast-" + VERSION);
    }

    @Test
    void theDistributionRunsFromWhereverItIsUnpacked() throws Exception {
        Path unpacked = unpack();
        for (String f : List.of("bin/nodecast", "lib/nodecast.jar", "lib/nodecast.aot", "lib/libzstd-jni.so", "runtime/bin/java",
                "activate.sh", "site/activate.sh", "site/site.conf", "modulefiles/nodecast/" + VERSION,
                "modulefiles/nodecast/" + VERSION + ".lua")) {
            assertThat(unpacked.resolve(f)).as(f).exists();
        }
        Launcher.Result r = Launcher.exec(List.of(unpacked.resolve("bin/nodecast").toString(), "env", "-p", "/dev/shm/x"), Map.of());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("export PYTHONHOME='/dev/shm/x';");
        assertThat(r.err()).doesNotContain("building");
        // its own runtime, and the AOT cache made at build time is used where it was unpacked
        Launcher.Result v = Launcher.exec(List.of(unpacked.resolve("bin/nodecast").toString(), "--version"),
                Map.of("NODECAST_JAVA_OPTS", "-Xlog:aot=info"));
        assertThat(v.out()).contains("nodecast " + VERSION + "\n", "(" + unpacked.resolve("runtime") + ")",
                "Opened AOT cache " + unpacked.resolve("lib/nodecast.aot"));
        assertThat(v.out()).as("SHA-256 by the node's libcrypto, which the jlink runtime does not replace")
                .containsPattern("SHA-256: OpenSSL \\S+.* \\(/.*/libcrypto\\.so\\.[0-9.]+\\)");
        // C1 alone for a step, tiered compilation (C2 too) for writing a bundle
        for (var c : Map.of("bcast", "1", "bundle", "4", "purge", "1", "mirror", "4").entrySet()) {
            Launcher.Result flags = Launcher.exec(List.of(unpacked.resolve("bin/nodecast").toString(), c.getKey(), "--help"),
                    Map.of("NODECAST_JAVA_OPTS", "-XX:+PrintFlagsFinal"));
            assertThat(flags.exit()).as(flags.err()).isZero();
            assertThat(flags.out()).as(c.getKey()).containsPattern("intx TieredStopAtLevel +=  *" + c.getValue() + " ");
        }
        Launcher.Result act = Launcher.exec(List.of("bash", "-c", "source \"$1/activate.sh\" /dev/shm/x ''; type bcast; echo \"uses $_NODECAST\"",
                "bash", unpacked.toString()), Map.of());
        assertThat(act.out()).contains("bcast is a function").contains("uses " + unpacked.resolve("bin/nodecast"));
        assertThat(Files.exists(Path.of("/dev/shm/x"))).isFalse();
    }

    /**
     * As a centre installs it: loaded with Lmod, on a machine with no JDK at all (an empty tmpfs over /usr/lib/jvm in a
     * mount namespace of its own, so JAVA_HOME and the java on PATH lead nowhere), it prints its version and delivers a
     * bundle on this node.
     */
    @Test
    @Tag("root")
    @Tag("lmod")
    void loadedWithLmodItRunsOnAMachineWithoutAJdk() throws Exception {
        Path unpacked = unpack();
        Path work = Files.createDirectories(tmp.resolve("job dir/app/bin"));
        Files.writeString(work.resolve("main.py"), "print('hello')\n");
        String dest = "/dev/shm/nodecast-dist-it-" + ProcessHandle.current().pid();
        String script = """
                set -u
                mount -t tmpfs -o size=1m,mode=0755 nodecast-no-jdk /usr/lib/jvm || exit 90
                echo "jvm dir: [$(ls -A /usr/lib/jvm)]"
                if java -version 2>/dev/null; then echo "a java still runs"; exit 91; fi
                source /usr/share/lmod/lmod/init/bash || exit 92
                module use "$1/modulefiles" && module load nodecast || exit 93
                echo "NODECAST=$NODECAST"
                echo "NODECAST_STAGE=${NODECAST_STAGE:-}"
                echo "nodecast is $(type -p nodecast)"
                nodecast --version || exit 94
                cd "$2" || exit 95
                nodecast bundle dir app bin --pyc keep -q -o app.tar.zst || exit 96
                nodecast bcast -p "$3" app.tar.zst || exit 97
                cat "$3/bin/main.py"
                source "$NODECAST/activate.sh" "$3" "" || exit 98
                type bcast | head -1
                """;
        Launcher.Result r = Launcher.exec(List.of("unshare", "--mount", "--propagation", "private", "bash", "-c", script, "bash",
                unpacked.toString(), work.getParent().getParent().toString(), dest), Map.of());
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("jvm dir: []", "NODECAST=" + unpacked + "\n", "nodecast is " + unpacked.resolve("bin/nodecast"),
                "nodecast " + VERSION + "\n", "Java 25", "print('hello')", "bcast is a function");
        String id = Files.readString(unpacked.resolve("lib/stage.id")).strip();
        assertThat(r.out()).as("the runtime runs from its copy on the node").contains("(/dev/shm/nodecast-" + uid() + "/" + id + "/runtime)");
        assertThat(r.out()).as("the modulefile stages the runtime on each node").contains("NODECAST_STAGE=/dev/shm\n");
        // the job script's exit trap purged the destination, and the runtime staged on the node with it
        assertThat(Path.of(dest)).doesNotExist();
        assertThat(Path.of("/dev/shm/nodecast-" + uid())).doesNotExist();
    }

    /**
     * NODECAST_STAGE: the runtime and lib/ unpacked once into node-local storage, after which a start asks the install
     * for its launcher and the build's id only (strace counts the calls that name the install).
     */
    @Test
    @Tag("strace")
    void stagedOnTheNodeAStartAsksTheInstallForAlmostNothing() throws Exception {
        Path unpacked = unpack();
        Path node = Files.createDirectories(tmp.resolve("node local"));
        Map<String, String> env = Map.of("NODECAST_STAGE", node.toString());
        Launcher.Result first = Launcher.exec(List.of(unpacked.resolve("bin/nodecast").toString(), "--version"), env);
        assertThat(first.exit()).as(first.err()).isZero();
        String id = Files.readString(unpacked.resolve("lib/stage.id")).strip();
        Path staged = node.resolve("nodecast-" + uid() + "/" + id);
        assertThat(first.out()).contains("(" + staged.resolve("runtime") + ")");
        assertThat(Files.getPosixFilePermissions(staged.getParent())).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));

        Path empty = Files.write(tmp.resolve("empty.tar"), new byte[10240]);
        Path trace = tmp.resolve("trace.txt");
        Path dest = tmp.resolve("dest");
        Launcher.Result r = Launcher.exec(List.of("strace", "-f", "-qq", "-e", "trace=%file", "-o", trace.toString(),
                unpacked.resolve("bin/nodecast").toString(), "bcast", "--transport", "local", "-p", dest.toString(), empty.toString()), env);
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> onInstall = Files.readAllLines(trace).stream().filter(l -> l.contains(unpacked.toString())).toList();
        // execve and bash's open and stat of the launcher, its [[ -L ]], and lib/stage.id
        assertThat(onInstall).as(String.join("\n", onInstall)).hasSizeLessThanOrEqualTo(6);
        assertThat(onInstall).anyMatch(l -> l.contains("lib/stage.id")).noneMatch(l -> l.contains("/runtime/"));
        // libcrypto is opened by its absolute path in the system's folders: no search through the runtime's folders
        // or the working directory, either of which may be on the shared file system
        List<String> crypto = Files.readAllLines(trace).stream().filter(l -> l.contains("libcrypto")).toList();
        assertThat(crypto).as(String.join("\n", crypto)).isNotEmpty()
                .allMatch(l -> l.matches(".*\"(/usr)?/lib(64)?(/[a-z0-9_]+-linux-gnu)?/libcrypto\\.so\\.[0-9.]+\".*"))
                .anyMatch(l -> !l.contains("ENOENT"));

        // the end of the job: purge removes DEST and the staged copy, which the next start makes again
        Launcher.Result purge = Launcher.exec(List.of(unpacked.resolve("bin/nodecast").toString(), "purge", "-p", dest.toString()), env);
        assertThat(purge.exit()).as(purge.err()).isZero();
        assertThat(dest).doesNotExist();
        assertThat(staged.getParent()).doesNotExist();
        assertThat(Launcher.exec(List.of(unpacked.resolve("bin/nodecast").toString(), "--version"), env).exit()).isZero();
        assertThat(staged.resolve("runtime/bin/java")).isExecutable();
    }

    /**
     * .tar.xz and .tar.bz2 bundles, as GNU tar writes them, decoded by the node's liblzma and libbz2 (opened by their
     * absolute paths, like libcrypto; the JDK opens the file a link names), not by the Java decoders, which C1 alone
     * runs at half their speed. Each library only when a bundle needs it.
     */
    @Test
    @Tag("strace")
    void xzAndBzip2BundlesAreDecodedByTheNodesLibraries() throws Exception {
        Path unpacked = unpack();
        Path tree = Files.createDirectories(tmp.resolve("tree/pkg"));
        for (int i = 0; i < 50; i++) Files.writeString(tree.resolve("m" + i + ".py"), ("x = " + i + "\n").repeat(2000));
        for (String[] kind : new String[][] {{"-J", "b.tar.xz", "liblzma\\.so\\.5[0-9.]*"}, {"-j", "b.tar.bz2", "libbz2\\.so\\.1[0-9.]*"}}) {
            Path bundle = tmp.resolve(kind[1]);
            assertThat(Launcher.exec(List.of("tar", "-C", tree.getParent().toString(), kind[0], "-cf", bundle.toString(), "pkg"), Map.of()).exit()).isZero();
            Path trace = tmp.resolve(kind[1] + ".trace");
            Path dest = tmp.resolve("dest-" + kind[1]);
            Launcher.Result r = Launcher.exec(List.of("strace", "-f", "-qq", "-e", "trace=openat", "-o", trace.toString(),
                    unpacked.resolve("bin/nodecast").toString(), "bcast", "--transport", "local", "-p", dest.toString(), bundle.toString()), Map.of());
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(Files.readString(dest.resolve("pkg/m49.py"))).isEqualTo("x = 49\n".repeat(2000));
            List<String> opened = Files.readAllLines(trace).stream().filter(l -> l.matches(".*/" + kind[2] + "\".*")).toList();
            assertThat(opened).as(kind[1] + ":\n" + String.join("\n", opened)).isNotEmpty()
                    .allMatch(l -> l.matches(".*\"(/usr)?/lib(64)?(/[a-z0-9_]+-linux-gnu)?/" + kind[2] + "\".*"))
                    .anyMatch(l -> !l.contains("ENOENT"));
            String other = kind[0].equals("-J") ? "libbz2" : "liblzma";
            assertThat(Files.readString(trace)).as("an " + kind[1] + " bundle has no use for " + other).doesNotContain(other);
        }
    }

    /** Two jobs of one user on a node: each has its own staged copy, and one job's purge leaves the other's. */
    @Test
    void twoJobsOnANodeStageApartAndPurgeOnlyTheirOwn() throws Exception {
        Path unpacked = unpack();
        Path node = Files.createDirectories(tmp.resolve("node local"));
        Path launcher = unpacked.resolve("bin/nodecast");
        String id = Files.readString(unpacked.resolve("lib/stage.id")).strip();
        Map<String, String> jobA = Map.of("NODECAST_STAGE", node.toString(), "SLURM_JOB_ID", "4101");
        Map<String, String> jobB = Map.of("NODECAST_STAGE", node.toString(), "SLURM_JOB_ID", "4102");
        for (Map<String, String> job : List.of(jobA, jobB)) {
            Launcher.Result r = Launcher.exec(List.of(launcher.toString(), "--version"), job);
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).contains(node.resolve("nodecast-" + uid() + "-job-" + job.get("SLURM_JOB_ID") + "/" + id + "/runtime").toString());
        }
        Path dest = tmp.resolve("dest A");
        Launcher.Result purge = Launcher.exec(List.of(launcher.toString(), "purge", "-p", dest.toString()), jobA);
        assertThat(purge.exit()).as(purge.err()).isZero();
        assertThat(node.resolve("nodecast-" + uid() + "-job-4101")).doesNotExist();
        assertThat(node.resolve("nodecast-" + uid() + "-job-4102/" + id + "/runtime/bin/java")).isExecutable();
    }

    private static String uid() {
        return Launcher.exec(List.of("id", "-u"), Map.of()).out().strip();
    }
}
