package io.nodecast.delivery;

import io.nodecast.core.ExitCode;

import java.util.List;
import java.util.Locale;

/**
 * What a delivery did: the same on every rank; rank 0 prints it.
 *
 * @param initSeconds      starting the transport (MPI_Init_thread, the communicators)
 * @param agreementSeconds the final exchange of failures, where every rank learns the step's outcome
 */
public record DeliveryReport(String transport, int ranks, int nodes, String destination, double initSeconds,
                             List<BundleTiming> bundles, List<NodeFailure> failures, double totalSeconds,
                             double agreementSeconds) {
    public DeliveryReport {
        bundles = List.copyOf(bundles);
        failures = List.copyOf(failures);
    }

    public boolean ok() {
        return failures.isEmpty();
    }

    /** The step's exit code: the first failure's (rank 0 lists them in node order), or 0. */
    public ExitCode exitCode() {
        return failures.isEmpty() ? ExitCode.OK : failures.getFirst().code();
    }

    /** The -t table. */
    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "nodecast bcast: %s, %d ranks on %d nodes, init %.3f s%n",
                transport, ranks, nodes, initSeconds));
        b.append(String.format(Locale.ROOT, "%-40s %10s %8s %8s %8s %8s %9s %7s%n",
                "bundle", "bytes", "read s", "bcast s", "unpack s", "total s", "MB/s", "skipped"));
        for (BundleTiming t : bundles) {
            String name = t.bundle().length() > 40 ? "..." + t.bundle().substring(t.bundle().length() - 37) : t.bundle();
            b.append(String.format(Locale.ROOT, "%-40s %10d %8.3f %8.3f %8.3f %8.3f %9.1f %3d/%-3d%n",
                    name, t.bytes(), t.readSeconds(), t.broadcastSeconds(), t.unpackSeconds(), t.totalSeconds(),
                    t.megabytesPerSecond(), t.skippedNodes(), t.nodes()));
        }
        b.append(String.format(Locale.ROOT, "total %.3f s (of which the final agreement %.3f s)%n", totalSeconds, agreementSeconds));
        return b.toString();
    }

    /** The --report file: hand-written JSON, to keep a JSON library off every rank's class path. */
    public String json() {
        StringBuilder b = new StringBuilder("{\n");
        b.append("  \"transport\": ").append(q(transport)).append(",\n");
        b.append("  \"ranks\": ").append(ranks).append(",\n  \"nodes\": ").append(nodes).append(",\n");
        b.append("  \"destination\": ").append(q(destination)).append(",\n");
        b.append(String.format(Locale.ROOT, "  \"init_seconds\": %.6f,%n  \"total_seconds\": %.6f,%n  \"agreement_seconds\": %.6f,%n",
                initSeconds, totalSeconds, agreementSeconds));
        b.append("  \"ok\": ").append(ok()).append(",\n  \"bundles\": [");
        for (int i = 0; i < bundles.size(); i++) {
            BundleTiming t = bundles.get(i);
            b.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT,
                    "    {\"bundle\": %s, \"bytes\": %d, \"sent\": %b, \"how\": %s, \"nodes\": %d, \"skipped_nodes\": %d, "
                            + "\"read_seconds\": %.6f, \"broadcast_seconds\": %.6f, \"unpack_seconds\": %.6f, "
                            + "\"total_seconds\": %.6f, \"files\": %d, \"unpacked_bytes\": %d}",
                    q(t.bundle()), t.bytes(), t.sent(), q(t.how()), t.nodes(), t.skippedNodes(), t.readSeconds(),
                    t.broadcastSeconds(), t.unpackSeconds(), t.totalSeconds(), t.files(), t.unpackedBytes()));
        }
        b.append(bundles.isEmpty() ? "],\n" : "\n  ],\n").append("  \"failures\": [");
        for (int i = 0; i < failures.size(); i++) {
            NodeFailure f = failures.get(i);
            b.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT,
                    "    {\"host\": %s, \"rank\": %d, \"exit_code\": %d, \"message\": %s}",
                    q(f.host()), f.rank(), f.code().code(), q(f.message())));
        }
        b.append(failures.isEmpty() ? "]\n" : "\n  ]\n").append("}\n");
        return b.toString();
    }

    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }
}
