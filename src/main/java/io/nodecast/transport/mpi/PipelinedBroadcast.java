package io.nodecast.transport.mpi;

import io.nodecast.posix.Pages;
import io.nodecast.transport.BroadcastPlan;
import io.nodecast.transport.ChunkSink;
import io.nodecast.transport.ChunkSource;
import io.nodecast.transport.Transport;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * nodecast's own broadcast: the bundle cut in segments that flow down a chain or a k-ary tree of leaders over
 * non-blocking point-to-point messages. A member forwards each segment to its children the moment it has it, then
 * hands it to its own sink (the unpacker), so every link carries the bundle about once and the last node has it
 * about a bundle's link time plus one segment per hop after the first, whatever the number of nodes.
 *
 * <p>A window of {@link #WINDOW} buffers circulates on each member: segment k lives in buffer k mod W from its
 * receive until every child has it, and segment k+W is only received into it after that. So memory per leader is
 * W segments, and a slow member holds its parent back instead of being flooded. Each link carries one segment at a
 * time: a member sends segment k only once its children have k−1, and asks its parent for k+1 only once it has sent
 * k on (a leaf: taken it). Two large messages in flight between the same two members share their link, so each
 * arrives later and the next hop starts later: with up to four in flight, a chain of 3 hosts at 100 Mbit/s took
 * 1.24 × the time of 2, with one 1.10 × (50 MB at 100 Mbit/s, BENCHMARKS.md section 11). A member still receives k+1 while it sends k,
 * and the rank-0 source reads ahead into every free buffer. MPI keeps the messages of one sender to one receiver
 * in order, so a single tag is enough.
 *
 * <p>Everything happens on the MPI thread. Most MPI libraries move a large message only inside MPI calls (the
 * receiver must answer the sender's request to send), so the slow local work (rank 0's read, each member's
 * hashing and hand-off to its unpacker) is done in slices of {@link #SLICE} (1 MiB) with a poll of the requests between
 * them: the links keep moving while a member works. When there is nothing to do, it waits with {@link Patience};
 * a member that hears nothing from its parent, or whose children take nothing, for the stall timeout throws
 * {@link Transport.Broken} naming that peer.
 */
final class PipelinedBroadcast {
    static final int WINDOW = 4;
    /**
     * Local work between two polls: a request to send waits a millisecond or two at most. Not smaller: the unpacker's
     * pipe takes one of its buffers per hand-off.
     */
    static final int SLICE = 1 << 20;
    private static final int TAG = 0x6e63;  // "nc"

    private enum State { FREE, RECEIVING, HELD, SENDING }

    private final Mpi mpi;
    private final MemorySegment[] buffers;
    private final MemorySegment[] receives;
    private final MemorySegment[][] sends;

    /**
     * @param capacity the largest segment (the chunk size); the buffers are mapped once, page-aligned, and touched as
     *                 they are used ({@link Pages})
     */
    PipelinedBroadcast(Mpi mpi, int capacity) {
        this.mpi = mpi;
        this.buffers = new MemorySegment[WINDOW];
        this.receives = new MemorySegment[WINDOW];
        this.sends = new MemorySegment[WINDOW][BroadcastPlan.MAX_FANOUT];
        long slot = (capacity + 4095L) & -4096L;
        MemorySegment slab = Pages.map(slot * WINDOW);
        for (int i = 0; i < WINDOW; i++) {
            buffers[i] = slab.asSlice(i * slot, capacity);
            receives[i] = mpi.requestSlot();
            for (int c = 0; c < sends[i].length; c++) sends[i][c] = mpi.requestSlot();
        }
    }

    /** The largest segment the buffers hold. */
    int capacity() {
        return (int) buffers[0].byteSize();
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
        new Stream(comm, plan, plan.parent(me), plan.children(me), source, sink, new Patience(stall), member).run();
    }

    /** One stream's state on this member. Segment k is in buffer k mod W; posted ≥ delivered ≥ freed. */
    private final class Stream {
        final long comm;
        final BroadcastPlan plan;
        final int parent;
        final int[] children;
        final ChunkSource source;
        final ChunkSink sink;
        final Patience patience;
        final IntFunction<String> member;
        final State[] state = new State[WINDOW];
        final int[] pending = new int[WINDOW];
        long posted;     // segments received into a buffer, or asked for
        long delivered;  // segments forwarded and handed to the sink
        long freed;      // segments every child has

        Stream(long comm, BroadcastPlan plan, int parent, int[] children, ChunkSource source, ChunkSink sink, Patience patience,
               IntFunction<String> member) {
            this.comm = comm;
            this.plan = plan;
            this.parent = parent;
            this.children = children;
            this.source = source;
            this.sink = sink;
            this.patience = patience;
            this.member = member;
            Arrays.fill(state, State.FREE);
        }

        void run() throws IOException {
            long n = plan.segments();
            while (freed < n) {
                boolean progress = post(delivered);
                if (delivered < posted) {
                    int b = slot(delivered);
                    if (state[b] == State.RECEIVING && mpi.test(receives[b])) state[b] = State.HELD;
                    if (state[b] == State.HELD && freed == delivered) {
                        forward(b);
                        progress = true;
                    }
                }
                progress |= poll();
                if (progress) {
                    patience.progressed();
                } else if (!patience.idle()) {
                    throw stalled();
                }
            }
        }

        /**
         * Asks the parent for the next segment once the one before has been sent on; rank 0 reads into every free
         * buffer instead (in slices, polling between them).
         * @param sentOn segments whose sends to the children are posted (a leaf: taken)
         */
        private boolean post(long sentOn) throws IOException {
            boolean progress = false;
            while (posted < plan.segments() && state[slot(posted)] == State.FREE && (parent < 0 || posted <= sentOn)) {
                int b = slot(posted);
                int len = plan.length(posted);
                progress = true;
                if (parent < 0) {
                    ByteBuffer bb = buffers[b].asSlice(0, len).asByteBuffer();
                    while (bb.hasRemaining()) {
                        bb.limit(Math.min(len, bb.position() + SLICE));
                        while (bb.hasRemaining()) {
                            if (source.fill(bb) == 0) throw new IOException("bundle ended early, in segment " + posted);
                        }
                        bb.limit(len);
                        poll();
                    }
                    state[b] = State.HELD;
                    posted++;
                    return true;
                }
                mpi.irecv(buffers[b], len, parent, TAG, comm, receives[b]);
                state[b] = State.RECEIVING;
                posted++;
            }
            return progress;
        }

        /** Sends the segment in buffer b to every child, then hands it to the sink a slice at a time. */
        private void forward(int b) throws IOException {
            int len = plan.length(delivered);
            for (int c = 0; c < children.length; c++) mpi.isend(buffers[b], len, children[c], TAG, comm, sends[b][c]);
            pending[b] = children.length;
            state[b] = State.SENDING;
            post(delivered + 1);   // the next segment comes in while this one goes out and the sink takes it
            for (int off = 0; off < len; off += SLICE) {
                sink.accept(buffers[b].asSlice(off, Math.min(SLICE, len - off)).asByteBuffer());
                poll();
            }
            delivered++;
        }

        /**
         * One look at the requests in flight, which is also what moves their bytes: the oldest receive still open, and
         * the sends of the oldest segment not yet freed. @return whether anything completed
         */
        private boolean poll() {
            boolean progress = false;
            long k = delivered;
            while (k < posted && state[slot(k)] != State.RECEIVING) k++;
            if (k < posted && mpi.test(receives[slot(k)])) {
                state[slot(k)] = State.HELD;
                progress = true;
            }
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
            return progress;
        }

        private Transport.Broken stalled() {
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
    }

    private static int slot(long segment) {
        return (int) (segment % WINDOW);
    }
}
