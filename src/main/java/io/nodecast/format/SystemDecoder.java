package io.nodecast.format;

import io.nodecast.posix.SystemLibrary;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * xz and bzip2 decoded by the node's own liblzma and libbz2, the libraries the xz and bzip2 commands use, straight
 * from the received chunks into the blocks, as zstd is. bin/nodecast runs a step with C1 alone, which ran the Java
 * decoders (XZ for Java, Commons Compress) at 0.54 and 0.49 of their speed under C2 (BENCHMARKS.md section 8); the
 * libraries decode at full speed from the first byte. A node without them gets the Java decoders.
 */
final class SystemDecoder implements BlockSource {

    /** One library's stream decoder. Both stream structs keep next_in, avail_in, next_out, avail_out at these offsets. */
    sealed interface Codec permits Lzma, Bzip2 {
        long NEXT_IN = 0, AVAIL_IN = 8, NEXT_OUT = 24, AVAIL_OUT = 32;

        String name();

        /** The width of avail_in and avail_out: size_t for liblzma, unsigned int for libbz2. */
        ValueLayout avail();

        void init(MemorySegment stream) throws BadArchiveException;

        MemorySegment decodeFunction();

        MemorySegment endFunction();

        /** The decode function's second argument; {@code finish}: no input will follow what it was given. */
        long action(boolean finish);

        /** What the decode function answers at the end of a stream (0 is "more to do", anything else an error). */
        int streamEnd();

        String error(int code);

        /** One call of the decoder. */
        default Status decode(MemorySegment stream, boolean finish) {
            int r = (int) SystemLibrary.call(decodeFunction(), stream.address(), action(finish), 0);
            return r == 0 ? Status.MORE : r == streamEnd() ? Status.END : Status.failed(error(r));
        }

        default void end(MemorySegment stream) {
            SystemLibrary.call(endFunction(), stream.address(), 0, 0);
        }

        /** After the end of a stream, whether the next bytes start another that must be decoded too. */
        boolean restartsAfterEnd();
    }

    /** What a call of the decoder said; {@code error} names it, as the library's header does. */
    record Status(boolean streamEnd, String error) {
        static final Status MORE = new Status(false, null), END = new Status(true, null);

        static Status failed(String error) {
            return new Status(false, error);
        }

        boolean ok() {
            return error == null;
        }
    }

    /** liblzma's decoder of .xz, concatenated streams and padding included, as xz -d reads them. */
    record Lzma(SystemLibrary lib, MemorySegment start, MemorySegment decodeFunction, MemorySegment endFunction) implements Codec {
        private static final long CONCATENATED = 0x08, RUN = 0, FINISH = 3;
        private static final List<String> ERRORS = List.of("LZMA_OK", "LZMA_STREAM_END", "LZMA_NO_CHECK", "LZMA_UNSUPPORTED_CHECK",
                "LZMA_GET_CHECK", "LZMA_MEM_ERROR", "LZMA_MEMLIMIT_ERROR", "LZMA_FORMAT_ERROR", "LZMA_OPTIONS_ERROR",
                "LZMA_DATA_ERROR", "LZMA_BUF_ERROR", "LZMA_PROG_ERROR");

        static Optional<Codec> load() {
            return SystemLibrary.first(List.of("liblzma.so.5"), List.of("lzma_stream_decoder", "lzma_code", "lzma_end"))
                    .map(l -> new Lzma(l, l.function("lzma_stream_decoder"), l.function("lzma_code"), l.function("lzma_end")));
        }

        @Override
        public String name() {
            return "xz (" + lib.path() + ")";
        }

        @Override
        public ValueLayout avail() {
            return ValueLayout.JAVA_LONG;
        }

        @Override
        public void init(MemorySegment stream) throws BadArchiveException {
            // no memory limit, as xz -d and XZ for Java have none by default; the tar stream's own limit still holds
            int r = (int) SystemLibrary.call(start, stream.address(), -1L, CONCATENATED);
            if (r != 0) throw new BadArchiveException("liblzma cannot start a decoder: " + error(r));
        }

        @Override
        public long action(boolean finish) {
            return finish ? FINISH : RUN;
        }

        @Override
        public int streamEnd() {
            return 1;
        }

        @Override
        public boolean restartsAfterEnd() {
            return false;   // LZMA_CONCATENATED: one decoder reads them all
        }

        @Override
        public String error(int r) {
            return r >= 0 && r < ERRORS.size() ? ERRORS.get(r) : "error " + r;
        }
    }

    /** libbz2's decoder; a file of several streams (pbzip2, or bzip2 files joined by cat) is decoded stream by stream. */
    record Bzip2(SystemLibrary lib, MemorySegment start, MemorySegment decodeFunction, MemorySegment endFunction) implements Codec {
        static Optional<Codec> load() {
            return SystemLibrary.first(List.of("libbz2.so.1.0", "libbz2.so.1"),
                            List.of("BZ2_bzDecompressInit", "BZ2_bzDecompress", "BZ2_bzDecompressEnd"))
                    .map(l -> new Bzip2(l, l.function("BZ2_bzDecompressInit"), l.function("BZ2_bzDecompress"),
                            l.function("BZ2_bzDecompressEnd")));
        }

        @Override
        public String name() {
            return "bzip2 (" + lib.path() + ")";
        }

        @Override
        public ValueLayout avail() {
            return ValueLayout.JAVA_INT;
        }

        @Override
        public void init(MemorySegment stream) throws BadArchiveException {
            int r = (int) SystemLibrary.call(start, stream.address(), 0, 0);
            if (r != 0) throw new BadArchiveException("libbz2 cannot start a decoder: " + error(r));
        }

        @Override
        public long action(boolean finish) {
            return 0;   // BZ2_bzDecompress takes the stream alone: it finds the end in the data
        }

        @Override
        public int streamEnd() {
            return 4;   // BZ_STREAM_END
        }

        @Override
        public boolean restartsAfterEnd() {
            return true;
        }

        @Override
        public String error(int r) {
            return switch (r) {
                case -2 -> "BZ_PARAM_ERROR";
                case -3 -> "BZ_MEM_ERROR";
                case -4 -> "BZ_DATA_ERROR";
                case -5 -> "BZ_DATA_ERROR_MAGIC";
                default -> "error " + r;
            };
        }
    }

    /** Each library, if the node has it and it decodes a known stream right; looked for when first needed. */
    private static final class Xz {
        static final Optional<Codec> CODEC = checked(Lzma.load(),
                "fd377a585a000004e6d6b4460200210116000000742fe5a30100076e6f64656361737400e838aaf6dbb86d6c00012008bb19d9bb1fb6f37d010000000004595a");
    }

    private static final class Bz2 {
        static final Optional<Codec> CODEC = checked(Bzip2.load(),
                "425a6839314159265359e6a7089800000201802e018c002000310c081934319bfd1b945dc914e142439a9c2260");
    }

    /** Both known streams hold the word "nodecast"; 256 bytes hold either struct (136 and 80 bytes on 64-bit Linux). */
    private static final long STREAM_BYTES = 256;

    /** The system's decoder for this compression, if it has one that works. */
    static Optional<Codec> of(Compression c) {
        return switch (c) {
            case XZ -> Xz.CODEC;
            case BZIP2 -> Bz2.CODEC;
            default -> Optional.empty();
        };
    }

    private final ChunkInput in;
    private final BlockPool pool;
    private final BooleanSupplier stop;
    private final Decompression.Counted count;
    private final Codec codec;
    // made, used and closed on the decompressing thread: another thread that touched it would get an exception, not freed memory
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment stream;
    private ByteBuffer src = ByteBuffer.allocateDirect(0);
    private boolean inputEnd, streamEnd, end, open;

    SystemDecoder(ChunkInput in, BlockPool pool, BooleanSupplier stop, Decompression.Counted count, Codec codec) throws BadArchiveException {
        this.in = in;
        this.pool = pool;
        this.stop = stop;
        this.count = count;
        this.codec = codec;
        this.stream = arena.allocate(STREAM_BYTES, 8);
        try {
            codec.init(stream);
        } catch (BadArchiveException e) {
            arena.close();
            throw e;
        }
        open = true;
    }

    @Override
    public Block next() throws IOException {
        if (end) return null;
        return Decompression.filled(pool, stop, count, b -> fill(b.segment, b.segment.byteSize()));
    }

    /** Decodes into out until it is full or the data ends; how many bytes it wrote. */
    private int fill(MemorySegment out, long capacity) throws IOException {
        long produced = 0;
        while (produced < capacity) {
            if (!src.hasRemaining() && !inputEnd) {
                ByteBuffer n = in.next();
                if (n == null) {
                    inputEnd = true;
                } else {
                    src = n.isDirect() ? n : ByteBuffer.allocateDirect(n.remaining()).put(n).flip();
                }
                continue;
            }
            if (streamEnd) {
                if (!src.hasRemaining()) {   // inputEnd: the last stream ended with the data
                    end = true;
                    break;
                }
                codec.end(stream);
                stream.fill((byte) 0);
                codec.init(stream);
                streamEnd = false;
            }
            long inBefore = src.remaining();
            long outBefore = capacity - produced;
            stream.set(ValueLayout.JAVA_LONG, Codec.NEXT_IN, MemorySegment.ofBuffer(src).address());
            setAvail(Codec.AVAIL_IN, inBefore);
            stream.set(ValueLayout.JAVA_LONG, Codec.NEXT_OUT, out.address() + produced);
            setAvail(Codec.AVAIL_OUT, outBefore);
            Status s = codec.decode(stream, inputEnd);
            long consumed = inBefore - getAvail(Codec.AVAIL_IN);
            long wrote = outBefore - getAvail(Codec.AVAIL_OUT);
            src.position(src.position() + (int) consumed);
            produced += wrote;
            if (!s.ok()) {
                throw new BadArchiveException(count.label + " is corrupt: " + codec.name() + " says " + s.error() + " after "
                        + (count.produced + produced) + " bytes of tar");
            }
            if (s.streamEnd()) {
                if (!codec.restartsAfterEnd()) {
                    end = true;
                    break;
                }
                streamEnd = true;
            } else if (consumed == 0 && wrote == 0 && (inputEnd || src.hasRemaining())) {
                // asked to finish, or given input, and nothing moved: the data ended inside a stream, or is bad
                throw new BadArchiveException(count.label + (inputEnd ? " is truncated: its " + codec.name()
                        + " stream ends early" : " is corrupt: " + codec.name() + " made no progress")
                        + " (after " + (count.produced + produced) + " bytes of tar)");
            }
        }
        return (int) produced;
    }

    private void setAvail(long offset, long value) {
        if (codec.avail() == ValueLayout.JAVA_INT) stream.set(ValueLayout.JAVA_INT, offset, (int) Math.min(value, Integer.MAX_VALUE));
        else stream.set(ValueLayout.JAVA_LONG, offset, value);
    }

    private long getAvail(long offset) {
        return codec.avail() == ValueLayout.JAVA_INT ? Integer.toUnsignedLong(stream.get(ValueLayout.JAVA_INT, offset))
                : stream.get(ValueLayout.JAVA_LONG, offset);
    }

    @Override
    public long produced() {
        return count.produced;
    }

    @Override
    public void close() {
        if (!open) return;
        open = false;
        codec.end(stream);
        arena.close();
    }

    /** The codec if it turns this stream back into "nodecast"; a library that does not is not used. */
    private static Optional<Codec> checked(Optional<Codec> codec, String hex) {
        return codec.filter(c -> {
            byte[] data = HexFormat.of().parseHex(hex);
            ByteBuffer buf = ByteBuffer.allocateDirect(data.length).put(data).flip();
            ChunkInput one = new ChunkInput() {
                boolean given;

                @Override
                public ByteBuffer next() {
                    if (given) return null;
                    given = true;
                    return buf;
                }
            };
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(64);
                SystemDecoder d = new SystemDecoder(one, null, () -> false, new Decompression.Counted("known answer", 0), c);
                try {
                    int n = d.fill(out, out.byteSize());
                    return Arrays.equals(out.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), "nodecast".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                } finally {
                    d.close();
                }
            } catch (IOException | RuntimeException e) {
                return false;
            }
        });
    }
}
