package io.nodecast.netdelay;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteOrder;

/**
 * One netfilter queue, bound through libnetfilter_queue: packets queued by an iptables NFQUEUE rule arrive as
 * ids (metadata only, no payload copied) and stay in the kernel until {@link #acceptUpTo} releases them. Used by
 * one thread; every native failure becomes a {@link NativeException}.
 */
final class PacketQueue implements AutoCloseable {
    /** Told the id of each packet read, in the kernel's order. */
    @FunctionalInterface
    interface Listener {
        void packet(int id);
    }

    private static final ValueLayout.OfInt PACKET_ID = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Nfq nfq;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment state = arena.allocate(Libc.CALL_STATE);
    private final MemorySegment buffer;
    private final Listener listener;
    private final MemorySegment handle;
    private MemorySegment queue = MemorySegment.NULL;
    private final int fd;
    private long overruns;
    private Throwable callbackFailure;

    /**
     * Binds queue {@code number} with room for {@code maxlen} packets held at once. With {@code gso}, the kernel
     * hands over segmentation-offload packets whole (one id for up to 64 KiB) instead of cutting them up first.
     */
    static PacketQueue open(Nfq nfq, int number, int maxlen, boolean gso, Listener listener) {
        return new PacketQueue(nfq, number, maxlen, gso, listener);
    }

    private PacketQueue(Nfq nfq, int number, int maxlen, boolean gso, Listener listener) {
        this.nfq = nfq;
        this.listener = listener;
        this.buffer = arena.allocate(1 << 20, 16);
        try {
            handle = (MemorySegment) nfq.open.invokeExact(state);
            if (handle.equals(MemorySegment.NULL)) throw new NativeException("nfq_open", Libc.errno(state));
            try {
                check((int) nfq.bindPf.invokeExact(state, handle, Nfq.AF_INET), "nfq_bind_pf(AF_INET)");
                MethodHandle target = MethodHandles.lookup().findVirtual(PacketQueue.class, "callback",
                        MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class, MemorySegment.class,
                                MemorySegment.class)).bindTo(this);
                MemorySegment stub = Linker.nativeLinker().upcallStub(target, Nfq.CALLBACK, arena);
                queue = (MemorySegment) nfq.createQueue.invokeExact(state, handle, (short) number, stub, MemorySegment.NULL);
                if (queue.equals(MemorySegment.NULL)) {
                    throw new NativeException("nfq_create_queue(" + number + ") (is another program bound to it?)",
                            Libc.errno(state));
                }
                check((int) nfq.setMode.invokeExact(state, queue, Nfq.NFQNL_COPY_META, 0), "nfq_set_mode(COPY_META)");
                check((int) nfq.setQueueMaxlen.invokeExact(state, queue, maxlen), "nfq_set_queue_maxlen(" + maxlen + ")");
                if (gso) {
                    check((int) nfq.setQueueFlags.invokeExact(state, queue, Nfq.NFQA_CFG_F_GSO, Nfq.NFQA_CFG_F_GSO),
                            "nfq_set_queue_flags(GSO)");
                }
                fd = (int) nfq.fd.invokeExact(handle);
            } catch (Throwable t) {
                closeHandles();
                throw t;
            }
        } catch (Throwable t) {
            arena.close();
            throw Libc.rethrow(t);
        }
    }

    private void check(int r, String what) {
        if (r < 0) throw new NativeException(what, Libc.errno(state));
    }

    int fd() {
        return fd;
    }

    /** Netlink messages the kernel dropped because the socket's buffer was full (their packets stay queued). */
    long overruns() {
        return overruns;
    }

    /**
     * Reads what the socket holds without waiting and tells the listener each packet's id. Returns false when
     * nothing was there.
     */
    boolean readAvailable() {
        long n = Libc.recv(state, fd, buffer, Libc.MSG_DONTWAIT);
        if (n == -Libc.EAGAIN || n == -Libc.EINTR) return false;
        if (n == -Libc.ENOBUFS) {   // messages lost, not packets: a later acceptUpTo releases them too
            overruns++;
            return true;
        }
        if (n < 0) throw new NativeException("recv on the netfilter queue socket", (int) -n);
        try {
            int ignored = (int) nfq.handlePacket.invokeExact(handle, buffer, (int) n);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (callbackFailure != null) throw new IllegalStateException("packet callback failed", callbackFailure);
        return true;
    }

    /** Accepts every queued packet whose id is {@code id} or earlier, in one message to the kernel. */
    void acceptUpTo(int id) {
        try {
            check((int) nfq.setVerdictBatch.invokeExact(state, queue, id, Nfq.NF_ACCEPT), "nfq_set_verdict_batch");
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    @SuppressWarnings("unused")   // called from native code through the upcall stub
    private int callback(MemorySegment qh, MemorySegment nfmsg, MemorySegment nfad, MemorySegment data) {
        try {
            MemorySegment hdr = (MemorySegment) nfq.getMsgPacketHdr.invokeExact(nfad);
            if (hdr.equals(MemorySegment.NULL)) return 0;
            listener.packet(hdr.reinterpret(PACKET_ID.byteSize()).get(PACKET_ID, 0));
            return 0;
        } catch (Throwable t) {   // an exception must not unwind into C: remember it, stop this batch
            callbackFailure = t;
            return -1;
        }
    }

    private void closeHandles() {
        try {
            if (!queue.equals(MemorySegment.NULL)) {
                int ignored = (int) nfq.destroyQueue.invokeExact(queue);
                queue = MemorySegment.NULL;
            }
            int ignored = (int) nfq.close.invokeExact(handle);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    @Override
    public void close() {
        try {
            closeHandles();
        } finally {
            arena.close();
        }
    }
}
