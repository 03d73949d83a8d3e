package io.nodecast.transport.mpi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What differs between the two MPI ABI families: how a handle is passed and the values of the predefined ones.
 * Everything else (the functions, their order, the error handling) is shared. Handles are carried as Java longs:
 * Open MPI's are addresses of global objects, the MPICH family's are 32-bit ints.
 */
sealed interface Abi permits Abi.OpenMpi, Abi.Mpich {
    String family();

    /** How a handle travels in a call and in memory (an out-parameter). */
    ValueLayout handleLayout();

    long commWorld();
    long commNull();
    long byteType();
    long intType();
    long longType();
    long doubleType();
    long infoNull();
    long opMax();
    long opSum();
    long errorsReturn();
    /** MPI_REQUEST_NULL: what a completed request's handle becomes, and what an unused slot holds. */
    long requestNull();
    int commTypeShared();
    /** MPI_STATUS_IGNORE: NULL in Open MPI, (MPI_Status*)1 in MPICH. */
    MemorySegment statusIgnore();

    int UNDEFINED = -32766;
    int THREAD_FUNNELED = 1;

    default long readHandle(MemorySegment at) {
        return handleLayout() == ValueLayout.JAVA_LONG ? at.get(ValueLayout.JAVA_LONG, 0) : at.get(ValueLayout.JAVA_INT, 0);
    }

    /** Stores a handle where MPI reads one (MPI_Comm_free's argument, a request slot). */
    default void writeHandle(MemorySegment at, long handle) {
        if (handleLayout() == ValueLayout.JAVA_LONG) at.set(ValueLayout.JAVA_LONG, 0, handle);
        else at.set(ValueLayout.JAVA_INT, 0, (int) handle);
    }

    /** The ABI of an opened library, told by a symbol only Open MPI has. */
    static Abi of(Native lib) {
        if (lib.symbol("ompi_mpi_comm_world").isPresent()) {
            java.util.function.Function<String, Long> g = name -> lib.symbol(name)
                    .orElseThrow(() -> new IllegalStateException(lib.path() + " lacks " + name)).address();
            return new OpenMpi(g.apply("ompi_mpi_comm_world"), g.apply("ompi_mpi_comm_null"), g.apply("ompi_mpi_byte"),
                    g.apply("ompi_mpi_int"), g.apply("ompi_mpi_long"), g.apply("ompi_mpi_double"), g.apply("ompi_mpi_info_null"),
                    g.apply("ompi_mpi_op_max"), g.apply("ompi_mpi_op_sum"), g.apply("ompi_mpi_errors_return"),
                    g.apply("ompi_request_null"));
        }
        return new Mpich();
    }

    record OpenMpi(long commWorld, long commNull, long byteType, long intType, long longType, long doubleType,
                   long infoNull, long opMax, long opSum, long errorsReturn, long requestNull) implements Abi {
        @Override public String family() { return "Open MPI"; }
        @Override public ValueLayout handleLayout() { return ValueLayout.JAVA_LONG; }
        @Override public int commTypeShared() { return 0; }
        @Override public MemorySegment statusIgnore() { return MemorySegment.NULL; }
    }

    /** MPICH and its derivatives (Cray MPICH, Intel MPI, MVAPICH) share mpi.h's integer handles. */
    record Mpich() implements Abi {
        @Override public String family() { return "MPICH"; }
        @Override public ValueLayout handleLayout() { return ValueLayout.JAVA_INT; }
        @Override public long commWorld() { return 0x44000000; }
        @Override public long commNull() { return 0x04000000; }
        @Override public long byteType() { return 0x4c00010d; }
        @Override public long intType() { return 0x4c000405; }
        @Override public long longType() { return 0x4c000807; }
        @Override public long doubleType() { return 0x4c00080b; }
        @Override public long infoNull() { return 0x1c000000; }
        @Override public long opMax() { return 0x58000001; }
        @Override public long opSum() { return 0x58000003; }
        @Override public long errorsReturn() { return 0x54000001; }
        @Override public long requestNull() { return 0x2c000000; }
        @Override public int commTypeShared() { return 1; }
        @Override public MemorySegment statusIgnore() { return MemorySegment.ofAddress(1); }
    }
}
