package io.nodecast.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench/run model}: the scale model fitted to the test bed's last scaling run (bench/results/cluster-scaling.csv),
 * the paper's published logs fitted and checked, and the projection of a 300 MB tier 1 to 100,000 nodes on a stated
 * network, beside the paper's tool. Runs in a second, no test bed needed.
 */
final class ModelBench {
    /** The stated cluster the projection is for; every figure below is an assumption written in BENCHMARKS.md. */
    static final ScaleModel.Network CLUSTER = new ScaleModel.Network("100 Gbit/s links, 2 µs + 10 µs software per message",
            12.5e9, 12e-6);
    /**
     * Rank 0 reads at 1 GB/s (one client of a parallel file system); a node unpacks at 82 MB/s of .tar.zst (what nodecast
     * did on this machine's 2 vCPUs: 222 MB in 2.71 s, BENCHMARKS.md section 2); the step's fixed cost is 0.96 s on one
     * node (measured, BENCHMARKS.md section 4) plus 0.1 s per doubling of the nodes for the launcher and MPI_Init.
     */
    static final ScaleModel.Node CLUSTER_NODE = new ScaleModel.Node(1e9, 82e6, 0.96, 0.1, 0);
    static final long TIER1 = 300_000_000L;
    static final int CHUNK = 8 << 20;
    /** The paper's tool unpacks in this many seconds on any number of nodes: the median of its XT runs. */
    static final double PAPER_TAR = ScaleModel.median(ScaleModel.XT_TAR.stream().map(ScaleModel.Point::seconds).toList());

    private ModelBench() {}

    record Emitted(String name, String title, Table table, String note) {}

    static void run(Path out, java.util.function.Consumer<Emitted> emit) throws IOException {
        ScaleModel.LogFit xc30 = ScaleModel.fitLog(ScaleModel.XC30_BCAST);
        ScaleModel.LogFit xt = ScaleModel.fitLog(ScaleModel.XT_BCAST);
        Table paper = new Table("machine", "MPI_Bcast of the bundles, fitted", "runs used", "set aside", "largest miss of a used run",
                "tar (unpack), median");
        paper.row("Cray XC30 (Edison), 1 to 5,310 nodes", fitText(xc30), xc30.used().size(), setAside(xc30), miss(xc30), "-");
        paper.row("Cray XT (Blue Waters), 1 to 8,192 nodes", fitText(xt), xt.used().size(), setAside(xt), miss(xt),
                String.format(Locale.ROOT, "%.2f s", PAPER_TAR));
        emit.accept(new Emitted("model-paper", "The paper's published runs, fitted", paper,
                "From the `bcast -t` lines of benchmarks/cray-xc30/bench-N.out and cray-xt/bench-N.out in the paper's repository "
                        + "(github.com/rainwoodman/python-mpi-bcast). Least squares in log2 N after setting aside runs a robust "
                        + "(Theil–Sen) line misses by more than four median misses."));

        Path csv = out.resolve("cluster-scaling.csv");
        List<ScaleModel.BedRun> bed = Files.exists(csv) ? bedRuns(csv) : List.of();
        Map<String, double[][]> bedPlot = new LinkedHashMap<>();
        if (!bed.isEmpty()) {
            ScaleModel.BedFit fit = ScaleModel.fitBed(bed, CHUNK);
            Table t = new Table("hosts", "measured delivery s", "model s", "miss", "measured fixed s", "model s", "miss");
            List<double[]> measured = new ArrayList<>(), modelled = new ArrayList<>();
            double worst = 0;
            for (ScaleModel.BedRun r : bed) {
                double d = fit.delivery(r.bundleBytes(), r.hosts(), CHUNK), f = fit.fixed(r.hosts());
                double missD = (r.delivery() - d) / d, missF = (r.fixed() - f) / f;
                worst = Math.max(worst, Math.max(Math.abs(missD), Math.abs(missF)));
                t.row(r.hosts(), f2(r.delivery()), f2(d), pct(missD), f2(r.fixed()), f2(f), pct(missF));
                measured.add(new double[] {r.hosts(), r.delivery()});
                modelled.add(new double[] {r.hosts(), d});
            }
            bedPlot.put("measured delivery (pipelined)", measured.toArray(double[][]::new));
            bedPlot.put("model", modelled.toArray(double[][]::new));
            emit.accept(new Emitted("model-bed", "The model fitted to the test bed's pipelined runs", t, String.format(Locale.ROOT,
                    "Fitted: link %.1f Mbit/s, %.1f ms per segment and hop, %.2f s per bundle besides the stream; fixed cost "
                            + "%.2f s + %.2f s per host (the hosts share 2 cores). Largest miss %s (target: within 25%%). From "
                            + "cluster-scaling.csv, the last `bench/run cluster-scaling`.",
                    fit.bandwidth() * 8 / 1e6, fit.latency() * 1e3, fit.overhead(), fit.f0(), fit.f2(), pct(worst))));
            Plot.lines(out.resolve("model-bed.png"), "The test bed against the model (50 MB, 100 Mbit/s)", "hosts", "seconds", bedPlot);
        }

        Table proj = new Table("nodes", "nodecast: broadcast", "fixed s", "delivery s", "step s", "paper's tool (XT fit): MPI_Bcast s",
                "tar s", "bcast + tar s");
        List<double[]> ours = new ArrayList<>(), theirs = new ArrayList<>(), theirsXc = new ArrayList<>();
        for (int n : List.of(1, 10, 100, 1_000, 10_000, 100_000)) {
            ScaleModel.Estimate e = ScaleModel.step(CLUSTER, CLUSTER_NODE, TIER1, n, CHUNK);
            double paperBcast = xt.at(n);
            proj.row(String.format(Locale.ROOT, "%,d", n), shape(e), f2(e.fixed()), f2(e.delivery()), f2(e.total()), f2(paperBcast),
                    f2(PAPER_TAR), f2(ScaleModel.paperStep(xt, PAPER_TAR, n)));
        }
        for (double lg = 0; lg <= 17; lg += 0.5) {
            int n = (int) Math.round(Math.pow(2, lg));
            ours.add(new double[] {n, ScaleModel.step(CLUSTER, CLUSTER_NODE, TIER1, n, CHUNK).total()});
            theirs.add(new double[] {n, ScaleModel.paperStep(xt, PAPER_TAR, n)});
            theirsXc.add(new double[] {n, ScaleModel.paperStep(xc30, PAPER_TAR, n)});
        }
        emit.accept(new Emitted("model", "The step for a 300 MB tier 1, projected", proj,
                "nodecast: the model with the broadcast `--bcast-algorithm auto` chooses, on " + CLUSTER.name() + "; rank 0 reads at "
                        + "1 GB/s; a node unpacks 82 MB/s of .tar.zst; fixed cost 0.96 s + 0.1 s per doubling of the nodes. The paper's tool: "
                        + "its MPI_Bcast as fitted to its XT runs, then its median tar time; its launcher's own start-up is in neither."));
        Map<String, double[][]> plot = new LinkedHashMap<>();
        plot.put("nodecast, projected (whole step)", ours.toArray(double[][]::new));
        plot.put("paper's tool, XT fit (bcast + tar)", theirs.toArray(double[][]::new));
        plot.put("paper's tool, XC30 fit (bcast + tar)", theirsXc.toArray(double[][]::new));
        plot.put("paper's XT runs (bcast + tar, measured)", paperMeasured());
        Plot.linesLogX(out.resolve("model.png"), "300 MB tier 1: the step against nodes", "nodes", "seconds", plot);
    }

    private static double[][] paperMeasured() {
        List<double[]> pts = new ArrayList<>();
        for (int i = 0; i < ScaleModel.XT_BCAST.size(); i++) {
            pts.add(new double[] {ScaleModel.XT_BCAST.get(i).nodes(), ScaleModel.XT_BCAST.get(i).seconds() + ScaleModel.XT_TAR.get(i).seconds()});
        }
        return pts.toArray(double[][]::new);
    }

    /** The pipelined runs of a cluster-scaling.csv. */
    static List<ScaleModel.BedRun> bedRuns(Path csv) throws IOException {
        List<ScaleModel.BedRun> out = new ArrayList<>();
        for (String line : Files.readAllLines(csv)) {
            String[] f = line.split(",");
            if (f.length < 7 || !f[1].equals("auto")) continue;
            out.add(new ScaleModel.BedRun(Integer.parseInt(f[0]), Long.parseLong(f[2]), Double.parseDouble(f[3]), Double.parseDouble(f[6])));
        }
        return out;
    }

    private static String shape(ScaleModel.Estimate e) {
        return switch (e.plan().algorithm()) {
            case CHAIN -> e.nodes() == 1 ? "-" : "chain";
            case TREE -> e.plan().fanout() + "-ary tree, depth " + e.plan().depth();
            default -> e.plan().algorithm().toString();
        };
    }

    private static String fitText(ScaleModel.LogFit f) {
        return String.format(Locale.ROOT, "%.2f + %.3f·log2 N s", f.a(), f.b());
    }

    private static String setAside(ScaleModel.LogFit f) {
        if (f.outliers().isEmpty()) return "none";
        StringBuilder b = new StringBuilder();
        for (ScaleModel.Point p : f.outliers()) {
            b.append(b.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "N=%.0f (%.2f s)", p.nodes(), p.seconds()));
        }
        return b.toString();
    }

    private static String miss(ScaleModel.LogFit f) {
        double worst = 0;
        for (ScaleModel.Point p : f.used()) worst = Math.max(worst, Math.abs(p.seconds() - f.at(p.nodes())));
        return String.format(Locale.ROOT, "%.2f s", worst);
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%+.0f%%", v * 100);
    }
}
