package io.nodecast.unpack;

/**
 * What one bundle put on disk.
 *
 * @param manifest the bundle's own description (its first member {@code .nodecast-bundle}), or null if it has none
 */
public record UnpackSummary(long files, long directories, long links, long bytes, byte[] manifest) {}
