package io.nodecast.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Memory for the large buffers a step fills from its first second: the bundle's read-ahead, the pipe, the
 * decompressed blocks. {@code ByteBuffer.allocateDirect} zeroes what it allocates, touching every page at once; an
 * anonymous mapping comes zeroed from the kernel and is touched only as it is used, so a pool of blocks can be mapped
 * whole and a small bundle touches one. Where the kernel gives huge pages on request
 * ({@code transparent_hugepage=madvise}, the common default), a touch maps 2 MiB instead of 4 KiB: a first touch
 * costs 18.7 µs a page on the test machine, and a step touched about 5,400 pages of these buffers (BENCHMARKS.md §8).
 */
public final class Pages {
    private static final long HUGE = 2 << 20;

    private Pages() {}

    /**
     * {@code bytes} of zeroed memory, page-aligned, unmapped once nothing refers to it (buffers made from the segment
     * keep it). From 1 MiB on it is aligned to a huge page and asks for huge pages; below, a 2 MiB page would be
     * mostly memory nobody uses.
     *
     * @throws OutOfMemoryError when the kernel refuses the mapping, as {@code allocateDirect} would
     */
    public static MemorySegment map(long bytes) {
        boolean huge = bytes >= HUGE / 2;
        long size = huge ? (bytes + HUGE - 1) / HUGE * HUGE : Math.max(4096, (bytes + 4095) & -4096L);
        try (Sys sys = new Sys()) {
            long start = sys.mapAnonymous(huge ? size + HUGE : size);
            if (huge) {
                // a huge page must start on a 2 MiB boundary: one more was mapped, and what is on either side goes back
                long raw = start;
                start = (raw + HUGE - 1) & -HUGE;
                sys.unmap(raw, start - raw);
                sys.unmap(start + size, raw + HUGE - start);
                sys.adviseHugePages(start, size);
            }
            long at = start;
            return MemorySegment.ofAddress(at).reinterpret(bytes, Arena.ofAuto(), s -> {
                try (Sys again = new Sys()) {
                    again.unmap(at, size);
                }
            });
        } catch (PosixException e) {
            throw new OutOfMemoryError("cannot map " + bytes + " bytes: " + e.reason());
        }
    }
}
