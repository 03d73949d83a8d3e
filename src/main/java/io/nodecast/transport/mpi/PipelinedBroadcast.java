package io.nodecast.transport.mpi;

import io.nodecast.transport.BroadcastPlan;
import io.nodecast.transport.ChunkSink;
import io.nodecast.transport.ChunkSource;
import io.nodecast.transport.Transport;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.function.IntFunction;

/**
 * nodecast's own broadcast: the bundle cut in segments that flow down a chain or a k-ary tree of leaders over
 * non-blocking point-to-point messages. A member forwards each segment to its children the moment it has it, then
 * hands it to its own sink (the unpacker), so every link carries the bundle about once and the last node has it
 * about a bundle's link time plus one segment per hop after the first, whatever the number of nodes.
 *
 * <p>A window of {@link #WINDOW} buffers circulates on each member: segment k lives in buffer k mod W from its
 * receive until every child has it, and segment k+W is only received into it after that. So memory per leader is
 * W segments, and a slow member holds its parent back instead of being flooded. Receives are posted ahead (up to
 * W), so the parent's sends always find one waiting. MPI keeps the messages of one sender to one receiver in
 * order, so a single tag is enough.
 *
 * <p>Everything happens on the MPI thread, polling with {@link Patience}; a member that hears nothing from its
 * parent, or whose child takes nothing, for the stall timeout throws {@link Transport.Broken} naming that peer.
 */
final class PipelinedBroadcast {
    static final int WINDOW = 4;
    private static final int TAG = 0x6e63;  // "nc"

    private enum State { FREE, RECEIVING, HELD, SENDING }

    private final Mpi mpi;
    private final MemorySegment[] buffers;
    private final MemorySegment[] receives;
    private final MemorySegment[][] sends;

    /** @param capacity the largest segment (the chunk size); the buffers are allocated once, page-aligned */
    PipelinedBroadcast(Mpi mpi, int capacity) {
        this.mpi = mpi;
        this.buffers = new MemorySegment[WINDOW];
        this.receives = new MemorySegment[WINDOW];
        this.sends = new MemorySegment[WINDOW][BroadcastPlan.MAX_FANOUT];
        for (int i = 0; i < WINDOW; i++) {
            buffers[i] = mpi.arena().allocate(capacity, 4096);
            receives[i] = mpi.requestSlot();
            for (int c = 0; c < sends[i].length; c++) sends[i][c] = mpi.requestSlot();
        }
    }

    /** The buffers, for the MPI_Ibcast path to reuse. */
    MemorySegment buffer(int i) {
        return buffers[i];
    }

    /**
     * @param comm   the members' communicator; member 0 is the source
     * @param me     this leader's rank in it
     * @param member names a member for messages ("n3")
     */
    void run(long comm, int me, BroadcastPlan plan, ChunkSource source, ChunkSink sink, Duration stall,
             IntFunction<String> member) throws IOException {
        long n = plan.segments();
        int parent = plan.parent(me);
        int[] children = plan.children(me);
        State[] state = new State[WINDOW];
        int[] pending = new int[WINDOW];
        java.util.Arrays.fill(state, State.FREE);
        long posted = 0;     // segments received into a buffer or asked for
        long delivered = 0;  // segments forwarded and handed to the sink
        long freed = 0;      // segments every child has
        Patience patience = new Patience(stall);
        while (freed < n) {
            boolean progress = false;
            // ask for the next segments into free buffers, in order; the source reads one and sends it first
            while (posted < n && state[slot(posted)] == State.FREE) {
                int b = slot(posted);
                int len = plan.length(posted);
                progress = true;
                if (parent < 0) {
                    fill(source, buffers[b], len, posted);
                    state[b] = State.HELD;
                    posted++;
                    break;
                }
                mpi.irecv(buffers[b], len, parent, TAG, comm, receives[b]);
                state[b] = State.RECEIVING;
                posted++;
            }
            // the next segment in order: forward it, then unpack it here
            if (delivered < posted) {
                int b = slot(delivered);
                if (state[b] == State.RECEIVING && mpi.test(receives[b])) state[b] = State.HELD;
                if (state[b] == State.HELD) {
                    int len = plan.length(delivered);
                    for (int c = 0; c < children.length; c++) mpi.isend(buffers[b], len, children[c], TAG, comm, sends[b][c]);
                    pending[b] = children.length;
                    state[b] = State.SENDING;
                    sink.accept(buffers[b].asSlice(0, len).asByteBuffer());
                    delivered++;
                    progress = true;
                }
            }
            // the oldest segment still going to the children: once they all have it, its buffer is free
            if (freed < delivered) {
                int b = slot(freed);
                while (pending[b] > 0 && mpi.test(sends[b][children.length - pending[b]])) {
                    pending[b]--;
                    progress = true;
                }
                if (pending[b] == 0) {
                    state[b] = State.FREE;
                    freed++;
                    progress = true;
                }
            }
            if (progress) {
                patience.progressed();
            } else if (!patience.idle()) {
                throw stalled(plan, delivered, freed, posted, children, parent, member, patience);
            }
        }
    }

    private static Transport.Broken stalled(BroadcastPlan plan, long delivered, long freed, long posted, int[] children,
                                            int parent, IntFunction<String> member, Patience patience) {
        String seconds = patience.idleSeconds() + " s";
        if (delivered < posted && parent >= 0) {
            return new Transport.Broken("the broadcast stalled: no data from " + member.apply(parent) + " for " + seconds
                    + " (segment " + delivered + " of " + plan.segments() + "); it stopped or died");
        }
        StringBuilder kids = new StringBuilder();
        for (int c : children) kids.append(kids.isEmpty() ? "" : ", ").append(member.apply(c));
        return new Transport.Broken("the broadcast stalled: " + kids + " took nothing for " + seconds + " (segment " + freed
                + " of " + plan.segments() + "); it stopped or died");
    }

    private static int slot(long segment) {
        return (int) (segment % WINDOW);
    }

    private static void fill(ChunkSource source, MemorySegment buffer, int len, long segment) throws IOException {
        var bb = buffer.asSlice(0, len).asByteBuffer();
        while (bb.hasRemaining()) {
            if (source.fill(bb) == 0) throw new IOException("bundle ended early, in segment " + segment);
        }
    }
}
