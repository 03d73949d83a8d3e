package io.nodecast.bench;

import io.nodecast.transport.BroadcastAlgorithm;
import io.nodecast.transport.BroadcastPlan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A model of the bcast step as nodes are added: what the pipelined broadcast costs on a network of a given link
 * bandwidth and per-message latency, with the node's read, unpack and fixed costs, for the same broadcast shape the
 * code chooses ({@link BroadcastPlan}). Fitted to the test bed's runs (cluster-scaling.csv), checked against the
 * published logs of the paper's tool, and used to project a 300 MB tier 1 to 100,000 nodes.
 *
 * <p>The pipelined stream, per bundle of S bytes cut in n segments of c bytes down a tree of fan-out k and depth d:
 * the deepest node has the first segment after rank 0 read it (c/R) and d hops of {@code h = k·c/B + a} each (k
 * copies share a member's link; a is the per-message latency); after that one segment arrives every {@code
 * max(c/R, h, c/U)}, the slowest of reading, sending and unpacking; the last one is unpacked (c/U). So
 * <pre>   delivery(N) = c/R + d·h + (n − 1)·max(c/R, h, c/U) + c/U</pre>
 * and the step is {@code fixed(N) + delivery(N)}, with {@code fixed(N) = f0 + f1·log2 N + f2·N}: the JVM start, MPI's
 * initialisation and the agreements on one node (f0), what the launcher and MPI_Init add per doubling (f1), and, on a
 * machine whose nodes share the same cores (the test bed), what each further node's JVM takes from the others (f2).
 */
final class ScaleModel {
    private ScaleModel() {}

    /**
     * @param bandwidth link bytes per second, each way
     * @param latency   seconds per message per hop: the network's and the software's (MPI, JVM)
     */
    record Network(String name, double bandwidth, double latency) {}

    /**
     * @param readRate   rank 0 reading the bundle from the shared file system, bytes per second
     * @param unpackRate a node unpacking, bundle bytes per second
     * @param f0         fixed cost on one node, seconds
     * @param f1         fixed cost per doubling of the nodes, seconds
     * @param f2         fixed cost per node when all nodes share the same cores (0 on a cluster), seconds
     */
    record Node(double readRate, double unpackRate, double f0, double f1, double f2) {
        double fixed(int nodes) {
            return f0 + f1 * log2(nodes) + f2 * nodes;
        }
    }

    /** One step's estimate. */
    record Estimate(int nodes, BroadcastPlan plan, double fixed, double delivery) {
        double total() {
            return fixed + delivery;
        }
    }

    static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }

    /** The step at {@code nodes} nodes with the broadcast nodecast would choose ({@code --bcast-algorithm auto}). */
    static Estimate step(Network net, Node node, long bundleBytes, int nodes, int chunkBytes) {
        BroadcastPlan plan = BroadcastPlan.choose(BroadcastAlgorithm.AUTO, nodes, bundleBytes, chunkBytes);
        return new Estimate(nodes, plan, node.fixed(nodes), delivery(net, node, plan));
    }

    static double delivery(Network net, Node node, BroadcastPlan plan) {
        double c = plan.segmentBytes();
        long n = plan.segments();
        double read = c / node.readRate();
        double unpack = c / node.unpackRate();
        double hop = plan.members() == 1 ? 0 : Math.min(plan.fanout(), plan.members() - 1) * c / net.bandwidth() + net.latency();
        double each = Math.max(read, Math.max(hop, unpack));
        return read + plan.depth() * hop + (n - 1) * each + unpack;
    }

    // ---------------------------------------------------------------- the paper's tool

    /** A measured point: nodes and seconds. */
    record Point(double nodes, double seconds) {}

    /** A fitted {@code a + b·log2 N}, with the points it was fitted on and those it set aside as outliers. */
    record LogFit(double a, double b, List<Point> used, List<Point> outliers) {
        double at(double nodes) {
            return a + b * log2(nodes);
        }
    }

    /**
     * {@code a + b·log2 N} by least squares, after setting aside the runs that a robust line (Theil–Sen) misses by more
     * than four times the median miss: a disturbed run in a shared machine's log is not the broadcast's behaviour.
     */
    static LogFit fitLog(List<Point> points) {
        double[] ts = theilSen(points);
        List<Double> misses = points.stream().map(p -> Math.abs(p.seconds() - (ts[0] + ts[1] * log2(p.nodes())))).sorted().toList();
        double mad = misses.get(misses.size() / 2);
        List<Point> used = new ArrayList<>(), outliers = new ArrayList<>();
        for (Point p : points) {
            (Math.abs(p.seconds() - (ts[0] + ts[1] * log2(p.nodes()))) > 4 * mad ? outliers : used).add(p);
        }
        double[] ab = leastSquares(used.stream().map(p -> new double[] {1, log2(p.nodes())}).toList(),
                used.stream().map(Point::seconds).toList());
        return new LogFit(ab[0], ab[1], List.copyOf(used), List.copyOf(outliers));
    }

    private static double[] theilSen(List<Point> points) {
        List<Double> slopes = new ArrayList<>();
        for (int i = 0; i < points.size(); i++) {
            for (int j = i + 1; j < points.size(); j++) {
                double dx = log2(points.get(j).nodes()) - log2(points.get(i).nodes());
                if (dx != 0) slopes.add((points.get(j).seconds() - points.get(i).seconds()) / dx);
            }
        }
        double b = median(slopes);
        double a = median(points.stream().map(p -> p.seconds() - b * log2(p.nodes())).toList());
        return new double[] {a, b};
    }

    static double median(List<Double> values) {
        List<Double> s = values.stream().sorted(Comparator.naturalOrder()).toList();
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }

    /**
     * The paper's published runs (github.com/rainwoodman/python-mpi-bcast, benchmarks/cray-xc30 and cray-xt, the
     * {@code bcast -t} lines of bench-N.out): seconds in MPI_Bcast of the bundles, and in tar, against nodes.
     */
    static final List<Point> XC30_BCAST = points(1, 0.433365, 2, 0.478364, 4, 0.617725, 8, 0.768337, 16, 0.87579, 32, 1.06822,
            64, 1.19269, 128, 1.3127, 256, 1.4895, 512, 1.69665, 1024, 1.92552, 2048, 3.43116, 4096, 2.167, 5310, 2.15751);
    static final List<Point> XT_BCAST = points(1, 1.03708, 2, 1.33602, 4, 1.6674, 8, 1.99504, 16, 2.37899, 32, 2.87929,
            64, 6.31153, 128, 3.33282, 256, 3.67547, 512, 3.961, 1024, 4.35499, 2048, 4.90292, 4096, 5.20081, 8192, 5.58864);
    static final List<Point> XT_TAR = points(1, 7.72704, 2, 7.79275, 4, 7.77316, 8, 12.1929, 16, 7.62238, 32, 7.60851,
            64, 7.62201, 128, 7.67622, 256, 8.27857, 512, 7.66121, 1024, 7.75117, 2048, 7.80896, 4096, 8.08294, 8192, 8.57061);

    private static List<Point> points(double... nodesThenSeconds) {
        List<Point> out = new ArrayList<>();
        for (int i = 0; i < nodesThenSeconds.length; i += 2) out.add(new Point(nodesThenSeconds[i], nodesThenSeconds[i + 1]));
        return List.copyOf(out);
    }

    /** The paper's tool at N nodes on the XT: its MPI_Bcast as fitted, then tar at the median of its published times. */
    static double paperStep(LogFit bcast, double tarSeconds, double nodes) {
        return bcast.at(nodes) + tarSeconds;
    }

    // ---------------------------------------------------------------- fitting to the bed

    /** A bed run: hosts, the bundle's size, the broadcast's plan inputs, and what was measured. */
    record BedRun(int hosts, long bundleBytes, double delivery, double fixed) {}

    /**
     * The bed's network and overheads, fitted to its pipelined runs: delivery(N) = o + (link bytes on the critical
     * path)/B + (segment hops on it)·a, by least squares in o, 1/B and a; fixed(N) = f0 + f2·N.
     *
     * @param overhead per-bundle cost besides the stream: the round's collectives, the ledger, the last unpack (s)
     */
    record BedFit(double overhead, double bandwidth, double latency, double f0, double f2) {
        double delivery(long bundleBytes, int hosts, int chunkBytes) {
            BroadcastPlan p = BroadcastPlan.choose(BroadcastAlgorithm.AUTO, hosts, bundleBytes, chunkBytes);
            return overhead + linkBytes(p) / bandwidth + hops(p) * latency;
        }

        double fixed(int hosts) {
            return f0 + f2 * hosts;
        }
    }

    /** Bytes through the busiest link on the critical path: the fill and every later segment, k copies each. */
    static double linkBytes(BroadcastPlan p) {
        if (p.members() == 1) return 0;
        return (double) Math.min(p.fanout(), p.members() - 1) * p.segmentBytes() * (p.segments() - 1 + p.depth());
    }

    static double hops(BroadcastPlan p) {
        return p.members() == 1 ? 0 : p.segments() - 1 + p.depth();
    }

    static BedFit fitBed(List<BedRun> runs, int chunkBytes) {
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (BedRun r : runs) {
            BroadcastPlan p = BroadcastPlan.choose(BroadcastAlgorithm.AUTO, r.hosts(), r.bundleBytes(), chunkBytes);
            x.add(new double[] {1, linkBytes(p), hops(p)});
            y.add(r.delivery());
        }
        double[] d = leastSquares(x, y);
        double[] f = leastSquares(runs.stream().map(r -> new double[] {1, r.hosts()}).toList(), runs.stream().map(BedRun::fixed).toList());
        return new BedFit(d[0], d[1] > 0 ? 1 / d[1] : Double.POSITIVE_INFINITY, Math.max(0, d[2]), f[0], f[1]);
    }

    /** Ordinary least squares by the normal equations (a handful of unknowns). */
    static double[] leastSquares(List<double[]> x, List<Double> y) {
        int k = x.getFirst().length;
        double[][] a = new double[k][k + 1];
        for (int r = 0; r < x.size(); r++) {
            double[] row = x.get(r);
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) a[i][j] += row[i] * row[j];
                a[i][k] += row[i] * y.get(r);
            }
        }
        for (int c = 0; c < k; c++) {
            int pivot = c;
            for (int r = c + 1; r < k; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
            double[] t = a[c];
            a[c] = a[pivot];
            a[pivot] = t;
            if (Math.abs(a[c][c]) < 1e-300) throw new IllegalArgumentException("the points do not determine the fit");
            for (int r = 0; r < k; r++) {
                if (r == c) continue;
                double f = a[r][c] / a[c][c];
                for (int j = c; j <= k; j++) a[r][j] -= f * a[c][j];
            }
        }
        double[] out = new double[k];
        for (int i = 0; i < k; i++) out[i] = a[i][k] / a[i][i];
        return out;
    }
}
