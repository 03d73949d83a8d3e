package io.nodecast.posix;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
        assertThat(vma).as("a mapping holds it").isNotEmpty();
        assertThat(vma).anyMatch(l -> l.startsWith("VmFlags:") && l.contains(" hg"));   // MADV_HUGEPAGE
        String thp = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
        assumeThat(thp).as("the kernel gives huge pages on request").containsAnyOf("[madvise]", "[always]");
        assertThat(vma).as("what was touched sits in huge pages").anyMatch(l -> l.matches("AnonHugePages:\\s+[1-9]\\d* kB"));
    }

    @Test
    void belowOneMebibyteItIsAnOrdinaryMappingOfItsOwnPages() throws IOException {
        MemorySegment m = Pages.map(10_000);
        assertThat(m.byteSize()).isEqualTo(10_000);
        assertThat(m.address() % 4096).isZero();
        for (long i = 0; i < m.byteSize(); i++) assertThat(m.get(ValueLayout.JAVA_BYTE, i)).isZero();
        List<String> vma = mapping(m.address());
        assertThat(vma).isNotEmpty();
        assertThat(vma).anyMatch(l -> l.startsWith("VmFlags:")).noneMatch(l -> l.startsWith("VmFlags:") && l.contains(" hg"));
    }

    @Test
    void aBufferKeepsItsMappingAndTheMappingGoesWithIt() throws Exception {
        ByteBuffer b = Pages.map(1 << 20).asByteBuffer();
        long address = MemorySegment.ofBuffer(b).address();
        System.gc();
        assertThat(mapping(address)).as("mapped while a buffer refers to it").isNotEmpty();
        b.put(0, (byte) 1);
        b = null;
        for (int i = 0; i < 50 && mapping(address).stream().anyMatch(l -> l.contains(" hg")); i++) {
            System.gc();
            Thread.sleep(20);
        }
        // once unmapped, the address is in no mapping, or in someone else's made since (without huge pages asked for)
        assertThat(mapping(address)).as("unmapped once nothing refers to it").noneMatch(l -> l.startsWith("VmFlags:") && l.contains(" hg"));
    }

    /**
     * The lines of /proc/self/smaps for the mapping that holds {@code address}, none if there is none. The kernel may
     * have merged it with a neighbour of the same kind, so it need not start there.
     */
    private static List<String> mapping(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = RANGE.matcher(lines.get(i));
            if (!m.find()) continue;
            int end = i + 1;
            while (end < lines.size() && !RANGE.matcher(lines.get(end)).find()) end++;
            if (Long.compareUnsigned(Long.parseUnsignedLong(m.group(1), 16), address) <= 0
                    && Long.compareUnsigned(address, Long.parseUnsignedLong(m.group(2), 16)) < 0) {
                return lines.subList(i, end);
            }
        }
        return List.of();
    }

    private static final Pattern RANGE = Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) ");
}
