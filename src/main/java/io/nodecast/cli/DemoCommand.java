package io.nodecast.cli;

import io.nodecast.demo.Demo;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

@Command(name = "demo", header = "Run the main job on this machine, with no cluster and no MPI.", description = {
        "It bundles this machine's Python, delivers it to node-local storage, and compares a start from the shared prefix "
                + "with one from the local copy."})
public final class DemoCommand implements Runnable {
    @Spec CommandSpec spec;

    @Option(names = "--python", paramLabel = "EXE", defaultValue = "python3", description = "The Python to bundle (default ${DEFAULT-VALUE}).")
    String python;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "3", description = "Timed starts each way (default ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public void run() {
        long pid = ProcessHandle.current().pid();
        Path shm = Path.of("/dev/shm");
        Path dest = (Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir")))
                .resolve("nodecast-demo-" + pid);
        Path work = Path.of(System.getProperty("java.io.tmpdir")).resolve("nodecast-demo-work-" + pid);
        PrintWriter out = spec.commandLine().getOut();
        new Demo(new Demo.Options(python, work, dest.toString(), Math.max(1, runs), out, new Bar())).run();
        out.flush();
    }

    /** The bundling progress bar, on stderr so the results on stdout stay clean. */
    private static final class Bar implements Demo.Progress {
        private ProgressBar bar;

        @Override
        public void start(String task, long total) {
            bar = new ProgressBarBuilder().setTaskName(task).setStyle(ProgressBarStyle.ASCII).setInitialMax(total)
                    .setUnit(" MiB", 1 << 20).showSpeed().build();
        }

        @Override
        public void step(long done) {
            bar.stepTo(done);
        }

        @Override
        public void end() {
            bar.close();
        }
    }
}
