package io.nodecast.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.nodecast.posix.Libc.NR;
import static io.nodecast.posix.Libc.SYSCALL;

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
    private static final long PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MADV_HUGEPAGE = 14;

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
        long slack = huge ? HUGE : 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment capture = a.allocate(Libc.CAPTURE);
            long raw = (long) SYSCALL.invokeExact(capture, NR.mmap(), 0L, size + slack, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1L, 0L);
            if (raw == -1) {
                throw new OutOfMemoryError("cannot map " + bytes + " bytes: " + Errno.describe(Libc.errno(capture)));
            }
            long start = raw;
            if (huge) {
                // a huge page must start on a 2 MiB boundary: one more was mapped, and what is on either side goes back
                start = (raw + HUGE - 1) & -HUGE;
                unmap(capture, raw, start - raw);
                unmap(capture, start + size, raw + HUGE - start);
                long ignored = (long) SYSCALL.invokeExact(capture, NR.madvise(), start, size, MADV_HUGEPAGE, 0L, 0L, 0L);
            }
            long at = start;
            return MemorySegment.ofAddress(at).reinterpret(bytes, Arena.ofAuto(), s -> unmapQuietly(at, size));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void unmap(MemorySegment capture, long address, long bytes) throws Throwable {
        if (bytes > 0) {
            long ignored = (long) SYSCALL.invokeExact(capture, NR.munmap(), address, bytes, 0L, 0L, 0L, 0L);
        }
    }

    private static void unmapQuietly(long address, long bytes) {
        try (Arena a = Arena.ofConfined()) {
            unmap(a.allocate(Libc.CAPTURE), address, bytes);
        } catch (Throwable ignored) {
            // the process is ending, or the address space keeps a mapping nobody uses
        }
    }
}
