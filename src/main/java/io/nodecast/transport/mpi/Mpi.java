package io.nodecast.transport.mpi;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;

/**
 * The typed layer over the MPI functions nodecast uses. Handles are Java longs whatever the ABI; every return
 * code is checked and becomes a {@link NodecastException} with MPI's own message. Call it from one thread only:
 * the one that initialised MPI (MPI_THREAD_FUNNELED).
 */
final class Mpi {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout ADDR = ValueLayout.ADDRESS;
    private static final char H = 'H';

    final Abi abi;
    final String library;
    private final Native lib;
    private final MethodHandle initThread, commRank, commSize, splitType, split, commFree, setErrhandler, bcast, ibcast, isend,
            irecv, test, wait, allreduce, allgather, ibarrier, abort, finalizeMh, errorString, processorName, libraryVersion, finalized;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment flag = arena.allocate(INT);

    private Mpi(Native lib, Abi abi) {
        this.lib = lib;
        this.abi = abi;
        this.library = lib.path();
        initThread = fn("MPI_Init_thread", "i", ADDR, ADDR, INT, ADDR);
        commRank = fn("MPI_Comm_rank", "i", H, ADDR);
        commSize = fn("MPI_Comm_size", "i", H, ADDR);
        splitType = fn("MPI_Comm_split_type", "i", H, INT, INT, H, ADDR);
        split = fn("MPI_Comm_split", "i", H, INT, INT, ADDR);
        commFree = fn("MPI_Comm_free", "i", ADDR);
        setErrhandler = fn("MPI_Comm_set_errhandler", "i", H, H);
        bcast = fn("MPI_Bcast", "i", ADDR, INT, H, INT, H);
        ibcast = fn("MPI_Ibcast", "i", ADDR, INT, H, INT, H, ADDR);
        isend = fn("MPI_Isend", "i", ADDR, INT, H, INT, INT, H, ADDR);
        irecv = fn("MPI_Irecv", "i", ADDR, INT, H, INT, INT, H, ADDR);
        test = fn("MPI_Test", "i", ADDR, ADDR, ADDR);
        wait = fn("MPI_Wait", "i", ADDR, ADDR);
        allreduce = fn("MPI_Allreduce", "i", ADDR, ADDR, INT, H, H, H);
        allgather = fn("MPI_Allgather", "i", ADDR, INT, H, ADDR, INT, H, H);
        ibarrier = fn("MPI_Ibarrier", "i", H, ADDR);
        abort = fn("MPI_Abort", "i", H, INT);
        finalizeMh = fn("MPI_Finalize", "i");
        finalized = fn("MPI_Finalized", "i", ADDR);
        errorString = fn("MPI_Error_string", "i", INT, ADDR, ADDR);
        processorName = fn("MPI_Get_processor_name", "i", ADDR, ADDR);
        libraryVersion = fn("MPI_Get_library_version", "i", ADDR, ADDR);
    }

    static Mpi open(Native lib) {
        return new Mpi(lib, Abi.of(lib));
    }

    /**
     * A downcall whose handle parameters ('H') take the ABI's layout but a Java long, so the code above is the same
     * for both families. Narrowing long to int for MPICH is what explicitCastArguments does.
     */
    private MethodHandle fn(String name, String ret, Object... params) {
        List<ValueLayout> layouts = new ArrayList<>();
        List<Class<?>> javaTypes = new ArrayList<>();
        for (Object p : params) {
            if (p instanceof Character) {
                layouts.add(abi.handleLayout());
                javaTypes.add(long.class);
            } else {
                ValueLayout l = (ValueLayout) p;
                layouts.add(l);
                javaTypes.add(l.carrier());
            }
        }
        MethodHandle mh = lib.function(name, INT, layouts.toArray(ValueLayout[]::new));
        return MethodHandles.explicitCastArguments(mh, MethodType.methodType(int.class, javaTypes));
    }

    void check(int rc, String what) {
        if (rc != 0) throw new NodecastException(ExitCode.MPI, what + " failed: " + errorString(rc));
    }

    /** A downcall returning MPI's error code; invokeExact declares Throwable. */
    @FunctionalInterface
    private interface Downcall {
        int invoke() throws Throwable;
    }

    /** Calls MPI and turns a non-zero code into the user's error; a failed downcall itself is a bug. */
    private void call(String what, Downcall downcall) {
        int rc;
        try {
            rc = downcall.invoke();
        } catch (Throwable t) {
            throw new IllegalStateException(what + ": " + t, t);
        }
        check(rc, what);
    }

    String errorString(int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1024);
            MemorySegment len = a.allocate(INT);
            int rc = (int) errorString.invokeExact(code, buf, len);
            return rc == 0 ? buf.getString(0) : "MPI error " + code;
        } catch (Throwable t) {
            return "MPI error " + code;
        }
    }

    void initThread() {
        try {
            MemorySegment provided = arena.allocate(INT);
            check((int) initThread.invokeExact(MemorySegment.NULL, MemorySegment.NULL, Abi.THREAD_FUNNELED, provided), "MPI_Init_thread");
        } catch (NodecastException e) {
            throw e;
        } catch (Throwable t) {
            throw new NodecastException(ExitCode.MPI, "MPI_Init_thread failed in " + library + ": " + t, t);
        }
    }

    int rank(long comm) {
        return intOut(commRank, comm, "MPI_Comm_rank");
    }

    int size(long comm) {
        return intOut(commSize, comm, "MPI_Comm_size");
    }

    private int intOut(MethodHandle mh, long comm, String what) {
        MemorySegment out = arena.allocate(INT);
        call(what, () -> (int) mh.invokeExact(comm, out));
        return out.get(INT, 0);
    }

    long splitShared(long comm, int key) {
        MemorySegment out = arena.allocate(8);
        call("MPI_Comm_split_type", () -> (int) splitType.invokeExact(comm, abi.commTypeShared(), key, abi.infoNull(), out));
        return abi.readHandle(out);
    }

    long split(long comm, int color, int key) {
        MemorySegment out = arena.allocate(8);
        call("MPI_Comm_split", () -> (int) split.invokeExact(comm, color, key, out));
        return abi.readHandle(out);
    }

    /** Frees a communicator this process made (a broadcast's sub-communicator). */
    void commFree(long comm) {
        MemorySegment handle = arena.allocate(8);
        abi.writeHandle(handle, comm);
        call("MPI_Comm_free", () -> (int) commFree.invokeExact(handle));
    }

    void errorsReturn(long comm) {
        call("MPI_Comm_set_errhandler", () -> (int) setErrhandler.invokeExact(comm, abi.errorsReturn()));
    }

    void bcast(MemorySegment buf, int count, long type, int root, long comm) {
        call("MPI_Bcast", () -> (int) bcast.invokeExact(buf, count, type, root, comm));
    }

    /** @param request 8 bytes that receive the request; they must live until it completes */
    void ibcast(MemorySegment buf, int count, long type, int root, long comm, MemorySegment request) {
        call("MPI_Ibcast", () -> (int) ibcast.invokeExact(buf, count, type, root, comm, request));
    }

    /** @param request 8 bytes that receive the request; they, and {@code buf}, must live until it completes */
    void isend(MemorySegment buf, int bytes, int dest, int tag, long comm, MemorySegment request) {
        call("MPI_Isend", () -> (int) isend.invokeExact(buf, bytes, abi.byteType(), dest, tag, comm, request));
    }

    /** @param request 8 bytes that receive the request; they, and {@code buf}, must live until it completes */
    void irecv(MemorySegment buf, int bytes, int source, int tag, long comm, MemorySegment request) {
        call("MPI_Irecv", () -> (int) irecv.invokeExact(buf, bytes, abi.byteType(), source, tag, comm, request));
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
        call("MPI_Ibarrier", () -> (int) ibarrier.invokeExact(comm, request));
    }

    boolean test(MemorySegment request) {
        call("MPI_Test", () -> (int) test.invokeExact(request, flag, abi.statusIgnore()));
        return flag.get(INT, 0) != 0;
    }

    void await(MemorySegment request) {
        call("MPI_Wait", () -> (int) wait.invokeExact(request, abi.statusIgnore()));
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
        call("MPI_Allreduce", () -> (int) allreduce.invokeExact(send, recv, count, type, op, comm));
    }

    void allgather(MemorySegment send, MemorySegment recv, int bytesEach, long comm) {
        call("MPI_Allgather", () -> (int) allgather.invokeExact(send, bytesEach, abi.byteType(), recv, bytesEach, abi.byteType(), comm));
    }

    void abort(long comm, int code) {
        try {
            int ignored = (int) abort.invokeExact(comm, code);
        } catch (Throwable t) {
            Runtime.getRuntime().halt(code);
        }
    }

    boolean isFinalized() {
        try {
            int rc = (int) finalized.invokeExact(flag);
            return rc == 0 && flag.get(INT, 0) != 0;
        } catch (Throwable t) {
            return false;
        }
    }

    void finalizeMpi() {
        call("MPI_Finalize", () -> (int) finalizeMh.invokeExact());
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

    private String stringOut(MethodHandle mh, int size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(size);
            MemorySegment len = a.allocate(INT);
            call("MPI string query", () -> (int) mh.invokeExact(buf, len));
            return buf.getString(0);
        }
    }

    Arena arena() {
        return arena;
    }
}
