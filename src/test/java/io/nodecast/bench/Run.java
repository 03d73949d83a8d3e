package io.nodecast.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** One timed run of a whole command, with GNU time's wall seconds, peak resident memory and CPU (user + system). */
record Run(double seconds, long peakKiB, String out, double cpuSeconds) {
    Run(double seconds, long peakKiB, String out) {
        this(seconds, peakKiB, out, 0);
    }

    static Run of(List<String> cmd, Map<String, String> env) {
        try {
            Path t = Files.createTempFile("bench-time", ".txt");
            List<String> full = new ArrayList<>(List.of("/usr/bin/time", "-q", "-f", "%e %M %U %S", "-o", t.toString()));
            full.addAll(cmd);
            ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true);
            pb.environment().putAll(env);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            String[] f = Files.readString(t).strip().lines().reduce((a, b) -> b).orElse("0 0 0 0").split("\\s+");
            Files.delete(t);
            if (code != 0) throw new IllegalStateException(String.join(" ", cmd) + " failed (" + code + "): " + out);
            return new Run(Double.parseDouble(f[0]), Long.parseLong(f[1]), out, Double.parseDouble(f[2]) + Double.parseDouble(f[3]));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static Run median(int n, Runnable before, List<String> cmd, Map<String, String> env) {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            before.run();
            runs.add(of(cmd, env));
        }
        runs.sort((a, b) -> Double.compare(a.seconds(), b.seconds()));
        Run mid = runs.get(runs.size() / 2);
        long peak = runs.stream().mapToLong(Run::peakKiB).max().orElse(0);
        return new Run(mid.seconds(), peak, mid.out(), mid.cpuSeconds());
    }
}
