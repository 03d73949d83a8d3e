package io.nodecast.unpack;

/** What one bundle put on disk. */
public record UnpackSummary(long files, long directories, long links, long bytes) {}
