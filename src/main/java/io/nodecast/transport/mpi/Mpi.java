package io.nodecast.transport.mpi;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.nodecast.transport.mpi.Native.ptr;

/**
 * The typed layer over the MPI functions nodecast uses. Handles are Java longs whatever the ABI; every return
 * code is checked and becomes a {@link NodecastException} with MPI's own message. Call it from one thread only:
 * the one that initialised MPI (MPI_THREAD_FUNNELED).
 */
final class Mpi {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;

    final Abi abi;
    final String library;
    private final Native.Function initThread, commRank, commSize, splitType, split, commFree, setErrhandler, bcast, ibcast,
            isend, irecv, test, wait, allreduce, allgather, ibarrier, abort, finalizeFn, errorString, processorName,
            libraryVersion, finalized;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment flag = arena.allocate(INT);

    /*
     * Every argument travels as a long (Native's one shape): an int as itself, a handle as the ABI's value (an
     * address in Open MPI, an int in the MPICH family: the callee reads the low half), a pointer as ptr(segment).
     * Every function returns MPI's int error code, the low half of the result.
     */
    private Mpi(Native lib, Abi abi) {
        this.abi = abi;
        this.library = lib.path();
        initThread = lib.function("MPI_Init_thread");
        commRank = lib.function("MPI_Comm_rank");
        commSize = lib.function("MPI_Comm_size");
        splitType = lib.function("MPI_Comm_split_type");
        split = lib.function("MPI_Comm_split");
        commFree = lib.function("MPI_Comm_free");
        setErrhandler = lib.function("MPI_Comm_set_errhandler");
        bcast = lib.function("MPI_Bcast");
        ibcast = lib.function("MPI_Ibcast");
        isend = lib.function("MPI_Isend");
        irecv = lib.function("MPI_Irecv");
        test = lib.function("MPI_Test");
        wait = lib.function("MPI_Wait");
        allreduce = lib.function("MPI_Allreduce");
        allgather = lib.function("MPI_Allgather");
        ibarrier = lib.function("MPI_Ibarrier");
        abort = lib.function("MPI_Abort");
        finalizeFn = lib.function("MPI_Finalize");
        finalized = lib.function("MPI_Finalized");
        errorString = lib.function("MPI_Error_string");
        processorName = lib.function("MPI_Get_processor_name");
        libraryVersion = lib.function("MPI_Get_library_version");
    }

    static Mpi open(Native lib) {
        return new Mpi(lib, Abi.of(lib));
    }

    void check(int rc, String what) {
        if (rc != 0) throw new NodecastException(ExitCode.MPI, what + " failed: " + errorString(rc));
    }

    String errorString(int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1024);
            MemorySegment len = a.allocate(INT);
            int rc = (int) errorString.call(code, ptr(buf), ptr(len));
            return rc == 0 ? buf.getString(0) : "MPI error " + code;
        } catch (RuntimeException e) {
            return "MPI error " + code;
        }
    }

    void initThread() {
        try {
            MemorySegment provided = arena.allocate(INT);
            check((int) initThread.call(0, 0, Abi.THREAD_FUNNELED, ptr(provided)), "MPI_Init_thread");
        } catch (NodecastException e) {
            throw e;
        } catch (RuntimeException t) {
            throw new NodecastException(ExitCode.MPI, "MPI_Init_thread failed in " + library + ": " + t, t);
        }
    }

    int rank(long comm) {
        return intOut(commRank, comm, "MPI_Comm_rank");
    }

    int size(long comm) {
        return intOut(commSize, comm, "MPI_Comm_size");
    }

    private int intOut(Native.Function fn, long comm, String what) {
        MemorySegment out = arena.allocate(INT);
        check((int) fn.call(comm, ptr(out)), what);
        return out.get(INT, 0);
    }

    long splitShared(long comm, int key) {
        MemorySegment out = arena.allocate(8);
        check((int) splitType.call(comm, abi.commTypeShared(), key, abi.infoNull(), ptr(out)), "MPI_Comm_split_type");
        return abi.readHandle(out);
    }

    long split(long comm, int color, int key) {
        MemorySegment out = arena.allocate(8);
        check((int) split.call(comm, color, key, ptr(out)), "MPI_Comm_split");
        return abi.readHandle(out);
    }

    /** Frees a communicator this process made (a broadcast's sub-communicator). */
    void commFree(long comm) {
        MemorySegment handle = arena.allocate(8);
        abi.writeHandle(handle, comm);
        check((int) commFree.call(ptr(handle)), "MPI_Comm_free");
    }

    void errorsReturn(long comm) {
        check((int) setErrhandler.call(comm, abi.errorsReturn()), "MPI_Comm_set_errhandler");
    }

    void bcast(MemorySegment buf, int count, long type, int root, long comm) {
        check((int) bcast.call(ptr(buf), count, type, root, comm), "MPI_Bcast");
    }

    /** @param request 8 bytes that receive the request; they must live until it completes */
    void ibcast(MemorySegment buf, int count, long type, int root, long comm, MemorySegment request) {
        check((int) ibcast.call(ptr(buf), count, type, root, comm, ptr(request)), "MPI_Ibcast");
    }

    /** @param request 8 bytes that receive the request; they, and {@code buf}, must live until it completes */
    void isend(MemorySegment buf, int bytes, int dest, int tag, long comm, MemorySegment request) {
        check((int) isend.call(ptr(buf), bytes, abi.byteType(), dest, tag, comm, ptr(request)), "MPI_Isend");
    }

    /** @param request 8 bytes that receive the request; they, and {@code buf}, must live until it completes */
    void irecv(MemorySegment buf, int bytes, int source, int tag, long comm, MemorySegment request) {
        check((int) irecv.call(ptr(buf), bytes, abi.byteType(), source, tag, comm, ptr(request)), "MPI_Irecv");
    }

    /** A request slot holding MPI_REQUEST_NULL: testing it says "complete" at once. */
    MemorySegment requestSlot() {
        MemorySegment r = arena.allocate(8, 8);
        abi.writeHandle(r, abi.requestNull());
        return r;
    }

    void ibcastWorld(MemorySegment buf, int count, long comm, MemorySegment request) {
        ibcast(buf, count, abi.byteType(), 0, comm, request);
    }

    void ibarrier(long comm, MemorySegment request) {
        check((int) ibarrier.call(comm, ptr(request)), "MPI_Ibarrier");
    }

    boolean test(MemorySegment request) {
        check((int) test.call(ptr(request), ptr(flag), ptr(abi.statusIgnore())), "MPI_Test");
        return flag.get(INT, 0) != 0;
    }

    void await(MemorySegment request) {
        check((int) wait.call(ptr(request), ptr(abi.statusIgnore())), "MPI_Wait");
    }

    /**
     * Waits for a request without holding a core: many ranks of a node wait here while their leader unpacks, and
     * a spinning MPI_Wait would take the cores the unpacking needs.
     */
    void awaitPolitely(MemorySegment request) {
        long sleepMicros = 50;
        while (!test(request)) {
            try {
                Thread.sleep(java.time.Duration.ofNanos(sleepMicros * 1000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NodecastException(ExitCode.MPI, "interrupted while waiting for the other ranks");
            }
            sleepMicros = Math.min(sleepMicros * 2, 20_000);
        }
    }

    void allreduce(MemorySegment send, MemorySegment recv, int count, long type, long op, long comm) {
        check((int) allreduce.call(ptr(send), ptr(recv), count, type, op, comm), "MPI_Allreduce");
    }

    void allgather(MemorySegment send, MemorySegment recv, int bytesEach, long comm) {
        check((int) allgather.call(ptr(send), bytesEach, abi.byteType(), ptr(recv), bytesEach, abi.byteType(), comm), "MPI_Allgather");
    }

    void abort(long comm, int code) {
        try {
            abort.call(comm, code);
        } catch (RuntimeException e) {
            Runtime.getRuntime().halt(code);
        }
    }

    boolean isFinalized() {
        try {
            int rc = (int) finalized.call(ptr(flag));
            return rc == 0 && flag.get(INT, 0) != 0;
        } catch (RuntimeException e) {
            return false;
        }
    }

    void finalizeMpi() {
        check((int) finalizeFn.call(), "MPI_Finalize");
    }

    String processorName() {
        return stringOut(processorName, 256);
    }

    /** All of MPI_Get_library_version (MPICH adds its device and configure line). */
    String libraryVersion() {
        return stringOut(libraryVersion, 8192);
    }

    /** The first line of a library version: the name and version. */
    static String versionLine(String fullVersion) {
        int nl = fullVersion.indexOf('\n');
        return (nl > 0 ? fullVersion.substring(0, nl) : fullVersion).strip();
    }

    /**
     * MPICH before 4.2 on its UCX device can hang in MPI_Finalize between hosts: a rank that reaches the PMI
     * barrier inside it stops progressing UCX, while its peers wait there for it to acknowledge their disconnects
     * (fixed upstream by pmodels/mpich#6596). Seen with Debian 12's MPICH 4.0.2 between the test bed's hosts.
     */
    static boolean finalizeMayHang(String fullVersion) {
        var m = java.util.regex.Pattern.compile("MPICH Version:\\s*(\\d+)\\.(\\d+)").matcher(fullVersion);
        if (!m.find() || !fullVersion.contains("ch4:ucx")) return false;
        int major = Integer.parseInt(m.group(1)), minor = Integer.parseInt(m.group(2));
        return major < 4 || (major == 4 && minor < 2);
    }

    private String stringOut(Native.Function fn, int size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(size);
            MemorySegment len = a.allocate(INT);
            check((int) fn.call(ptr(buf), ptr(len)), fn.name());
            return buf.getString(0);
        }
    }

    Arena arena() {
        return arena;
    }
}
