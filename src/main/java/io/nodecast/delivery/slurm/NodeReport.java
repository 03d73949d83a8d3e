package io.nodecast.delivery.slurm;

import io.nodecast.core.ExitCode;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One node's answer to a node step, as one line on the step's standard output (srun gathers them):
 * {@code NODECAST-NODE <tab> node <tab> host <tab> exit code <tab> message <tab> per-bundle figures}.
 *
 * @param node    the node's index in the allocation (SLURM_NODEID)
 * @param code    OK, or what failed
 * @param message empty, or the one-line failure
 * @param bundles prepare: whether each bundle is already there; receive: each sent bundle's figures
 */
record NodeReport(int node, String host, ExitCode code, String message, List<Figures> bundles) {
    static final String TAG = "NODECAST-NODE";

    /** @param have already at DEST (prepare); skipped as already there (receive) */
    record Figures(boolean have, double unpackSeconds, long files, long bytes) {}

    NodeReport {
        bundles = List.copyOf(bundles);
    }

    boolean ok() {
        return code == ExitCode.OK;
    }

    String line() {
        StringBuilder b = new StringBuilder();
        for (Figures f : bundles) {
            if (!b.isEmpty()) b.append(';');
            b.append(f.have() ? 1 : 0).append(',').append(f.unpackSeconds()).append(',').append(f.files()).append(',').append(f.bytes());
        }
        return String.join("\t", TAG, Integer.toString(node), clean(host), code.name(), clean(message), b.toString());
    }

    static Optional<NodeReport> parse(String line) {
        String[] f = line.split("\t", -1);
        if (f.length != 6 || !f[0].equals(TAG)) return Optional.empty();
        try {
            List<Figures> bundles = new ArrayList<>();
            if (!f[5].isEmpty()) {
                for (String one : f[5].split(";")) {
                    String[] v = one.split(",");
                    bundles.add(new Figures(v[0].equals("1"), Double.parseDouble(v[1]), Long.parseLong(v[2]), Long.parseLong(v[3])));
                }
            }
            return Optional.of(new NodeReport(Integer.parseInt(f[1]), f[2], ExitCode.valueOf(f[3]), f[4], bundles));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String clean(String s) {
        return s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    }
}
