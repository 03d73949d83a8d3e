package io.nodecast.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;

/** rank 0's progress bar for a long delivery: only on a terminal, so logs and tests stay clean. */
interface Progress extends AutoCloseable {
    Progress NONE = new Progress() {
        @Override
        public void update(long bytes) { }

        @Override
        public void close() { }
    };

    void update(long bytes);

    @Override
    void close();

    static Progress forTerminal(PrintWriter ignored) {
        if (System.console() == null || !System.console().isTerminal()) return NONE;
        ProgressBar bar = new ProgressBarBuilder().setTaskName("bcast").setStyle(ProgressBarStyle.ASCII)
                .setUnit(" MiB", 1 << 20).showSpeed().setInitialMax(-1).build();
        return new Progress() {
            long base;
            long last;

            @Override
            public void update(long bytes) {
                if (bytes < last) base += last;  // a new bundle started
                last = bytes;
                bar.stepTo(base + bytes);
            }

            @Override
            public void close() {
                bar.close();
            }
        };
    }
}
