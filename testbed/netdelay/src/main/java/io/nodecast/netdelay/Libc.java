package io.nodecast.netdelay;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/** The few libc calls the delay line needs: raw downcalls, errno captured, nothing else. */
final class Libc {
    static final int EINTR = 4, EAGAIN = 11, ENOBUFS = 105;
    static final int MSG_DONTWAIT = 0x40;
    static final short POLLIN = 0x1;
    static final int SOL_SOCKET = 1, SO_RCVBUFFORCE = 33;
    static final int SCHED_FIFO = 1;
    static final int PR_SET_TIMERSLACK = 29;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_VH =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** struct pollfd { int fd; short events; short revents; } */
    static final StructLayout POLLFD = MemoryLayout.structLayout(JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"), JAVA_SHORT.withName("revents"));
    /** struct timespec { time_t tv_sec; long tv_nsec; } */
    static final StructLayout TIMESPEC = MemoryLayout.structLayout(JAVA_LONG.withName("sec"), JAVA_LONG.withName("nsec"));

    private static final MethodHandle RECV = downcall("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO);
    private static final MethodHandle PPOLL = downcall("ppoll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS), ERRNO);
    private static final MethodHandle SETSOCKOPT = downcall("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ERRNO);
    private static final MethodHandle SCHED_SETSCHEDULER = downcall("sched_setscheduler",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), ERRNO);
    private static final MethodHandle PRCTL = downcall("prctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), ERRNO);
    private static final MethodHandle STRERROR = downcall("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private Libc() {}

    private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment sym = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new NativeException("libc has no " + name));
        return LINKER.downcallHandle(sym, fd, options);
    }

    static int errno(MemorySegment callState) {
        return (int) ERRNO_VH.get(callState, 0L);
    }

    static String strerror(int errno) {
        try {
            return ((MemorySegment) STRERROR.invokeExact(errno)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /** recv(2): bytes read, or -errno. */
    static long recv(MemorySegment state, int fd, MemorySegment buf, int flags) {
        try {
            long n = (long) RECV.invokeExact(state, fd, buf, buf.byteSize(), flags);
            return n >= 0 ? n : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ppoll(2) on prepared pollfd and timespec segments: the count of ready descriptors, or -errno. */
    static int ppoll(MemorySegment state, MemorySegment pollfds, long nfds, MemorySegment timeout) {
        try {
            int n = (int) PPOLL.invokeExact(state, pollfds, nfds, timeout, MemorySegment.NULL);
            return n >= 0 ? n : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void setReceiveBuffer(int fd, int bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(CALL_STATE);
            MemorySegment v = a.allocateFrom(JAVA_INT, bytes);
            int r = (int) SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, SO_RCVBUFFORCE, v, (int) JAVA_INT.byteSize());
            if (r != 0) throw new NativeException("setsockopt(SO_RCVBUFFORCE, " + bytes + ")", errno(state));
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Puts the calling thread (not the process) under SCHED_FIFO at the given priority. */
    static void realtime(int priority) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(CALL_STATE);
            MemorySegment param = a.allocateFrom(JAVA_INT, priority);
            int r = (int) SCHED_SETSCHEDULER.invokeExact(state, 0, SCHED_FIFO, param);
            if (r != 0) throw new NativeException("sched_setscheduler(SCHED_FIFO, " + priority + ")", errno(state));
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The calling thread's timer slack, in nanoseconds: how late the kernel may fire its timeouts. */
    static void timerSlack(long nanos) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(CALL_STATE);
            int r = (int) PRCTL.invokeExact(state, PR_SET_TIMERSLACK, nanos, 0L, 0L, 0L);
            if (r != 0) throw new NativeException("prctl(PR_SET_TIMERSLACK, " + nanos + ")", errno(state));
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
