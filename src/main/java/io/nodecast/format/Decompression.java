package io.nodecast.format;

import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Turns a bundle's raw bytes into its tar stream in pooled native blocks. The compression is told by the first
 * bytes ({@link Compression#detect}), never by a name. zstd, the default, decompresses straight from the received
 * chunks into the blocks the file data is written from: no copy on the heap; so do xz and bzip2 where the node has
 * liblzma and libbz2 ({@link SystemDecoder}). gzip, and xz and bzip2 without those libraries, go through their
 * {@link InputStream} decoders and one copy.
 */
public final class Decompression {
    private Decompression() {}

    /**
     * @param label          how messages name the bundle
     * @param maxTarBytes    the most tar stream a bundle may expand to (0: no limit)
     * @param stop           polled while waiting, so a failure elsewhere ends the wait
     */
    public static BlockSource open(ChunkInput raw, BlockPool pool, String label, long maxTarBytes, BooleanSupplier stop)
            throws IOException {
        return open(raw, pool, label, maxTarBytes, stop, SystemDecoder::of);
    }

    /** @param system the node's decoder of a compression, if it has one (a test gives none, as a node without them) */
    static BlockSource open(ChunkInput raw, BlockPool pool, String label, long maxTarBytes, BooleanSupplier stop,
                            Function<Compression, Optional<SystemDecoder.Codec>> system) throws IOException {
        Peeked in = Peeked.of(raw);
        Compression c = Compression.detect(in.head, in.head.length);
        if (c == null) {
            throw new BadArchiveException(label + " is not a bundle: not a tar archive, compressed or not "
                    + "(.tar.zst, .tar.gz, .tar.bz2, .tar.xz, .tar)");
        }
        Counted limit = new Counted(label, maxTarBytes);
        if (c == Compression.ZSTD) return new Zstd(in, pool, stop, limit);
        Optional<SystemDecoder.Codec> codec = system.apply(c);   // xz and bzip2, where the node has their library
        return codec.isPresent() ? new SystemDecoder(in, pool, stop, limit, codec.get())
                : new Streamed(c.decompress(new ChunkInputStream(in)), pool, stop, limit, c);
    }

    /** Counts the tar stream and refuses a bundle that expands past the limit (a "zip bomb" fills /dev/shm). */
    static final class Counted {
        final String label;
        final long max;
        long produced;

        Counted(String label, long max) {
            this.label = label;
            this.max = max;
        }

        void add(int n) throws BadArchiveException {
            produced += n;
            if (max > 0 && produced > max) {
                throw new BadArchiveException(label + " expands to more than " + max + " bytes, over the limit "
                        + "(--max-unpacked); raise it if this bundle is really that large");
            }
        }
    }

    /** Decodes into a block; how many bytes it wrote, 0 at the end. */
    @FunctionalInterface
    interface Fill {
        int into(Block b) throws IOException;
    }

    /** A block from the pool, filled and counted; null at the end. Whatever fill throws, the block goes back. */
    static Block filled(BlockPool pool, BooleanSupplier stop, Counted count, Fill fill) throws IOException {
        Block b = pool.take(stop);
        try {
            b.length = fill.into(b);
            count.add(b.length);
        } catch (IOException | RuntimeException | Error e) {
            b.release();
            throw e;
        }
        if (b.length == 0) {
            b.release();
            return null;
        }
        return b;
    }

    /** The raw input with its first bytes read ahead for detection, then given back in order. */
    private static final class Peeked implements ChunkInput {
        final ChunkInput in;
        final byte[] head;
        ByteBuffer replay;

        private Peeked(ChunkInput in, byte[] head, ByteBuffer replay) {
            this.in = in;
            this.head = head;
            this.replay = replay;
        }

        static Peeked of(ChunkInput in) throws IOException {
            ByteBuffer probe = ByteBuffer.allocateDirect(Compression.PROBE_BYTES);
            ByteBuffer rest = null;
            while (probe.hasRemaining()) {
                ByteBuffer b = in.next();
                if (b == null) break;
                int n = Math.min(b.remaining(), probe.remaining());
                probe.put(b.slice(b.position(), n));
                b.position(b.position() + n);
                if (b.hasRemaining()) {
                    rest = b;
                    break;
                }
            }
            probe.flip();
            byte[] head = new byte[probe.remaining()];
            probe.duplicate().get(head);
            ByteBuffer replay = probe;
            if (rest != null) {
                // the chunk that held the end of the probe is still valid: give back both, probe first
                ByteBuffer joined = ByteBuffer.allocateDirect(probe.remaining() + rest.remaining());
                joined.put(probe).put(rest).flip();
                replay = joined;
            }
            return new Peeked(in, head, replay);
        }

        @Override
        public ByteBuffer next() throws IOException {
            if (replay != null) {
                ByteBuffer r = replay;
                replay = null;
                if (r.hasRemaining()) return r;
            }
            return in.next();
        }
    }

    /** zstd frames (one or several, as zstd concatenates them) decompressed between direct buffers. */
    private static final class Zstd implements BlockSource {
        final ChunkInput in;
        final BlockPool pool;
        final BooleanSupplier stop;
        final Counted count;
        final ZstdDecompressCtx ctx = new ZstdDecompressCtx();
        ByteBuffer src = ByteBuffer.allocateDirect(0);
        boolean frameDone = true;
        boolean end;

        Zstd(ChunkInput in, BlockPool pool, BooleanSupplier stop, Counted count) {
            this.in = in;
            this.pool = pool;
            this.stop = stop;
            this.count = count;
        }

        @Override
        public Block next() throws IOException {
            if (end) return null;
            return filled(pool, stop, count, b -> {
                ByteBuffer dst = b.buffer.clear();
                try {
                    while (dst.hasRemaining()) {
                        if (!src.hasRemaining()) {
                            ByteBuffer n = in.next();
                            if (n == null) {
                                if (!frameDone) {
                                    throw new BadArchiveException(count.label + " is truncated: its zstd stream ends "
                                            + "in the middle of a frame (after " + (count.produced + dst.position()) + " bytes of tar)");
                                }
                                end = true;
                                break;
                            }
                            src = n;
                            continue;
                        }
                        int before = dst.position();
                        int consumed = src.position();
                        frameDone = ctx.decompressDirectByteBufferStream(dst, src);
                        if (dst.position() == before && src.position() == consumed && !frameDone) {
                            throw new BadArchiveException(count.label + " is corrupt: the zstd decoder made no progress");
                        }
                    }
                } catch (ZstdException e) {
                    throw new BadArchiveException(count.label + " is corrupt: zstd says '" + e.getMessage() + "' after "
                            + count.produced + " bytes of tar", e);
                }
                return dst.position();
            });
        }

        @Override
        public long produced() {
            return count.produced;
        }

        @Override
        public void close() {
            ctx.close();
        }
    }

    /** gzip, bzip2, xz and plain tar through their stream decoders, copied into blocks. */
    private static final class Streamed implements BlockSource {
        final InputStream in;
        final BlockPool pool;
        final BooleanSupplier stop;
        final Counted count;
        final Compression kind;
        final byte[] scratch;
        boolean end;

        Streamed(InputStream in, BlockPool pool, BooleanSupplier stop, Counted count, Compression kind) {
            this.in = in;
            this.pool = pool;
            this.stop = stop;
            this.count = count;
            this.kind = kind;
            this.scratch = new byte[pool.blockSize()];
        }

        @Override
        public Block next() throws IOException {
            if (end) return null;
            int n;
            try {
                n = in.readNBytes(scratch, 0, scratch.length);
            } catch (EOFException e) {
                throw new BadArchiveException(count.label + " is truncated: its " + kind.suffix() + " stream ends early", e);
            } catch (IOException e) {
                if (e instanceof BadArchiveException) throw e;
                throw new BadArchiveException(count.label + " is corrupt: " + kind.suffix() + " says '" + e.getMessage()
                        + "' after " + count.produced + " bytes of tar", e);
            }
            if (n < scratch.length) end = true;
            if (n == 0) return null;
            count.add(n);
            Block b = pool.take(stop);
            MemorySegment.copy(scratch, 0, b.segment, ValueLayout.JAVA_BYTE, 0, n);
            b.length = n;
            return b;
        }

        @Override
        public long produced() {
            return count.produced;
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException ignored) {
                // input from memory: nothing to release that matters
            }
        }
    }

    /** The raw chunks as an InputStream, for the decoders that read streams. */
    private static final class ChunkInputStream extends InputStream {
        final ChunkInput in;
        ByteBuffer cur = ByteBuffer.allocate(0);

        ChunkInputStream(ChunkInput in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            while (!cur.hasRemaining()) {
                ByteBuffer n = in.next();
                if (n == null) return -1;
                cur = n;
            }
            int k = Math.min(len, cur.remaining());
            cur.get(b, off, k);
            return k;
        }
    }
}
