package io.nodecast.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;

/** rank 0's progress for a long delivery: a bar on a terminal, else a line every few seconds (batch logs). */
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

    static Progress forTerminal(PrintWriter log) {
        if (System.console() == null || !System.console().isTerminal()) return lines(log);
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

    private static Progress lines(PrintWriter log) {
        long start = System.nanoTime();
        return new Progress() {
            long lastPrint = start;
            long base;
            long last;

            @Override
            public void update(long bytes) {
                if (bytes < last) base += last;
                last = bytes;
                long now = System.nanoTime();
                if (now - lastPrint < 5_000_000_000L) return;
                lastPrint = now;
                double s = (now - start) / 1e9;
                log.printf("  %s sent in %.0f s (%.0f MB/s)%n", io.nodecast.core.Units.bytes(base + bytes), s, (base + bytes) / 1e6 / s);
                log.flush();
            }

            @Override
            public void close() { }
        };
    }
}
