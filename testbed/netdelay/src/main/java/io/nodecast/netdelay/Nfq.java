package io.nodecast.netdelay;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * libnetfilter_queue's classic API (libnetfilter_queue.h), as raw downcalls. Types follow the header: uint8_t is
 * a byte, uint16_t a short, uint32_t an int; handles are addresses. {@link PacketQueue} is the typed layer.
 */
final class Nfq {
    static final String LIBRARY = "libnetfilter_queue.so.1";
    static final short AF_INET = 2;
    static final byte NFQNL_COPY_META = 1;
    static final int NF_ACCEPT = 1;
    static final int NFQA_CFG_F_GSO = 1 << 2;

    /** int nfq_callback(struct nfq_q_handle *, struct nfgenmsg *, struct nfq_data *, void *data) */
    static final FunctionDescriptor CALLBACK = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);

    final MethodHandle open, close, fd, unbindPf, bindPf, createQueue, destroyQueue, setMode, setQueueMaxlen,
            setQueueFlags, handlePacket, setVerdictBatch, getMsgPacketHdr;

    private Nfq(SymbolLookup lib) {
        Linker.Option errno = Linker.Option.captureCallState("errno");
        open = downcall(lib, "nfq_open", FunctionDescriptor.of(ADDRESS), errno);
        close = downcall(lib, "nfq_close", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        fd = downcall(lib, "nfq_fd", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        unbindPf = downcall(lib, "nfq_unbind_pf", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT), errno);
        bindPf = downcall(lib, "nfq_bind_pf", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT), errno);
        createQueue = downcall(lib, "nfq_create_queue",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_SHORT, ADDRESS, ADDRESS), errno);
        destroyQueue = downcall(lib, "nfq_destroy_queue", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setMode = downcall(lib, "nfq_set_mode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_BYTE, JAVA_INT), errno);
        setQueueMaxlen = downcall(lib, "nfq_set_queue_maxlen", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), errno);
        setQueueFlags = downcall(lib, "nfq_set_queue_flags",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), errno);
        handlePacket = downcall(lib, "nfq_handle_packet", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        setVerdictBatch = downcall(lib, "nfq_set_verdict_batch",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), errno);
        getMsgPacketHdr = downcall(lib, "nfq_get_msg_packet_hdr", FunctionDescriptor.of(ADDRESS, ADDRESS));
    }

    /** Loads the library for the life of the process; a clear error when it is not installed. */
    static Nfq load() {
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new NativeException("cannot load " + LIBRARY + " (Debian: apt-get install libnetfilter-queue1)");
        }
        return new Nfq(lib);
    }

    private static MethodHandle downcall(SymbolLookup lib, String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment sym = lib.find(name).orElseThrow(() -> new NativeException(LIBRARY + " has no " + name));
        return Linker.nativeLinker().downcallHandle(sym, fd, options);
    }
}
