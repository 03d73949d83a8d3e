package io.nodecast.posix;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/** The large buffers' memory, as the kernel shows it in /proc/self/smaps. */
class PagesTest {
    private static final long HUGE = 2 << 20;

    @Test
    void zeroedAlignedToAHugePageAndAskingForHugePages() throws IOException {
        MemorySegment m = Pages.map(3_000_000);
        assertThat(m.byteSize()).isEqualTo(3_000_000);
        assertThat(m.address() % HUGE).as("on a 2 MiB boundary").isZero();
        for (long i = 0; i < m.byteSize(); i += 4096) assertThat(m.get(ValueLayout.JAVA_BYTE, i)).isZero();
        m.set(ValueLayout.JAVA_BYTE, m.byteSize() - 1, (byte) 7);

        List<String> vma = mapping(m.address());
        assertThat(vma).as("one mapping of two huge pages, the slop on either side given back").isNotEmpty();
        assertThat(vma.getFirst()).startsWith(hex(m.address()) + "-" + hex(m.address() + 2 * HUGE) + " rw-p");
        assertThat(vma).anyMatch(l -> l.startsWith("VmFlags:") && l.contains(" hg"));   // MADV_HUGEPAGE
        String thp = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
        assumeThat(thp).as("the kernel gives huge pages on request").containsAnyOf("[madvise]", "[always]");
        assertThat(vma).as("what was touched sits in huge pages").anyMatch(l -> l.matches("AnonHugePages:\\s+[1-9]\\d* kB"));
    }

    @Test
    void aBufferKeepsItsMappingAndTheMappingGoesWithIt() throws Exception {
        ByteBuffer b = Pages.map(1 << 20).asByteBuffer();
        long address = MemorySegment.ofBuffer(b).address();
        System.gc();
        assertThat(mapping(address)).as("mapped while a buffer refers to it").isNotEmpty();
        b.put(0, (byte) 1);
        b = null;
        for (int i = 0; i < 50 && !mapping(address).isEmpty(); i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(mapping(address)).as("unmapped once nothing refers to it").isEmpty();
    }

    /** The lines of /proc/self/smaps for the mapping that starts at {@code address}, none if there is none. */
    private static List<String> mapping(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        String start = hex(address) + "-";
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).startsWith(start)) continue;
            int end = i + 1;
            while (end < lines.size() && !lines.get(end).matches("^[0-9a-f]+-[0-9a-f]+ .*")) end++;
            return lines.subList(i, end);
        }
        return List.of();
    }

    private static String hex(long address) {
        return HexFormat.of().toHexDigits(address).replaceFirst("^0+(?=.)", "");
    }
}
