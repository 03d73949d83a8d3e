package io.nodecast.digest;

import io.nodecast.posix.SystemLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * SHA-256 by libcrypto, as a {@link MessageDigest}: what calls it (a DigestOutputStream, a stream's chunks) does not
 * change. Direct buffers are hashed where they are; bytes on the Java heap go through a native scratch buffer, which
 * costs a copy at memory speed. Like the JDK's, one digest is for one thread at a time.
 */
final class OpenSslDigest extends MessageDigest {
    private static final int SCRATCH = 64 << 10;

    private final LibCrypto lib;
    private final Arena arena = Arena.ofAuto();
    /** The EVP_MD_CTX, freed by libcrypto when this digest is unreachable (the cleanup holds no reference to it). */
    private final MemorySegment ctx;
    private MemorySegment scratch;

    OpenSslDigest(LibCrypto lib) {
        super("SHA-256");
        this.lib = lib;
        long c = SystemLibrary.call(lib.ctxNew(), 0, 0, 0);
        if (c == 0) throw new IllegalStateException("libcrypto's EVP_MD_CTX_new gave no context");
        MemorySegment free = lib.ctxFree();
        ctx = MemorySegment.ofAddress(c).reinterpret(arena, s -> SystemLibrary.call(free, s.address(), 0, 0));
        engineReset();
    }

    @Override
    protected void engineReset() {
        check(SystemLibrary.call(lib.init(), ctx.address(), lib.sha256(), 0), "EVP_DigestInit_ex");
    }

    @Override
    protected int engineGetDigestLength() {
        return 32;
    }

    @Override
    protected void engineUpdate(byte input) {
        engineUpdate(new byte[] {input}, 0, 1);
    }

    @Override
    protected void engineUpdate(byte[] input, int offset, int len) {
        if (scratch == null) scratch = arena.allocate(SCRATCH);
        for (int done = 0; done < len; ) {
            int n = Math.min(SCRATCH, len - done);
            MemorySegment.copy(input, offset + done, scratch, ValueLayout.JAVA_BYTE, 0, n);
            hash(scratch.address(), n);
            done += n;
        }
    }

    @Override
    protected void engineUpdate(ByteBuffer input) {
        if (!input.isDirect()) {
            super.engineUpdate(input);   // through engineUpdate(byte[], ...)
            return;
        }
        int n = input.remaining();
        if (n == 0) return;
        hash(MemorySegment.ofBuffer(input).address(), n);   // the segment starts at the buffer's position
        input.position(input.limit());
    }

    @Override
    protected byte[] engineDigest() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(32);
            check(SystemLibrary.call(lib.fin(), ctx.address(), out.address(), 0), "EVP_DigestFinal_ex");
            byte[] d = out.toArray(ValueLayout.JAVA_BYTE);
            engineReset();   // as MessageDigest.digest() promises
            return d;
        }
    }

    private void hash(long address, long n) {
        check(SystemLibrary.call(lib.update(), ctx.address(), address, n), "EVP_DigestUpdate");
    }

    /** Keeps this digest, and so its context, from being freed until libcrypto has returned. */
    private void check(long rc, String function) {
        Reference.reachabilityFence(this);
        if ((int) rc != 1) throw new IllegalStateException("libcrypto's " + function + " failed");
    }
}
