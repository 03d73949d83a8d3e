package io.nodecast.bench;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** PNG plots with JFreeChart, headless. */
final class Plot {
    private Plot() {}

    /** White ground and light grid lines: the plots are read on pages, next to tables. */
    private static void plain(org.jfree.chart.plot.Plot plot) {
        plot.setBackgroundPaint(Color.WHITE);
        if (plot instanceof XYPlot xy) {
            xy.setDomainGridlinePaint(Color.LIGHT_GRAY);
            xy.setRangeGridlinePaint(Color.LIGHT_GRAY);
        } else if (plot instanceof org.jfree.chart.plot.CategoryPlot c) {
            c.setRangeGridlinePaint(Color.LIGHT_GRAY);
        }
    }

    static void lines(Path png, String title, String x, String y, Map<String, double[][]> series) throws IOException {
        lines(png, title, x, y, series, false);
    }

    /** As {@link #lines}, with a logarithmic x axis (nodes from 1 to 100,000). */
    static void linesLogX(Path png, String title, String x, String y, Map<String, double[][]> series) throws IOException {
        lines(png, title, x, y, series, true);
    }

    private static void lines(Path png, String title, String x, String y, Map<String, double[][]> series, boolean logX) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        series.forEach((name, points) -> {
            XYSeries s = new XYSeries(name);
            for (double[] p : points) s.add(p[0], p[1]);
            data.addSeries(s);
        });
        JFreeChart chart = ChartFactory.createXYLineChart(title, x, y, data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plain(plot);
        if (logX) {
            org.jfree.chart.axis.LogAxis axis = new org.jfree.chart.axis.LogAxis(x);
            axis.setBase(10);
            axis.setStandardTickUnits(org.jfree.chart.axis.NumberAxis.createIntegerTickUnits());
            axis.setNumberFormatOverride(new java.text.DecimalFormat("#,##0"));
            plot.setDomainAxis(axis);
        }
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++) r.setSeriesStroke(i, new BasicStroke(2f));
        plot.setRenderer(r);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 560);
    }

    static void bars(Path png, String title, String y, Map<String, Double> values) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        values.forEach((k, v) -> data.addValue(v, y, k));
        JFreeChart chart = ChartFactory.createBarChart(title, "", y, data, PlotOrientation.HORIZONTAL, false, false, false);
        plain(chart.getCategoryPlot());
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 80 + 40 * values.size());
    }

    /** Bars grouped by category (the x axis), one colour per series: several measures of several modes side by side. */
    static void groupedBars(Path png, String title, String y, Map<String, Map<String, Double>> seriesThenCategory) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        seriesThenCategory.forEach((series, values) -> values.forEach((category, v) -> data.addValue(v, series, category)));
        JFreeChart chart = ChartFactory.createBarChart(title, "", y, data, PlotOrientation.VERTICAL, true, false, false);
        plain(chart.getCategoryPlot());
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 560);
    }
}
