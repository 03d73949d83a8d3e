package io.nodecast.delivery;

/**
 * One bundle's delivery, seen from the slowest node (each figure is the maximum over the leaders).
 *
 * @param skippedNodes nodes that already had the bundle and received nothing
 * @param how          how it travelled: the broadcast's shape, "not sent", or "local"
 */
public record BundleTiming(String bundle, long bytes, int nodes, int skippedNodes, boolean sent, String how,
                           double readSeconds, double broadcastSeconds, double unpackSeconds, double totalSeconds,
                           long files, long unpackedBytes) {
    public double megabytesPerSecond() {
        return totalSeconds <= 0 ? 0 : unpackedBytes / 1e6 / totalSeconds;
    }
}
