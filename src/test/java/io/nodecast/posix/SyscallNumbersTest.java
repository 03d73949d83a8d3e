package io.nodecast.posix;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/** The system call numbers nodecast calls by are the kernel's own, read from the headers of this machine. */
class SyscallNumbersTest {
    private static final Pattern DEFINE = Pattern.compile("^#define __NR(?:3264)?_(\\w+)\\s+(\\w+)", Pattern.MULTILINE);

    private static Map<String, String> read(Path header) throws IOException {
        Map<String, String> out = new HashMap<>();
        Matcher m = DEFINE.matcher(Files.readString(header));
        while (m.find()) out.putIfAbsent(m.group(1), m.group(2));
        return out;
    }

    private static void check(Libc.Numbers numbers, Path header) throws Exception {
        assumeThat(header).as("kernel headers (Debian: linux-libc-dev)").exists();
        Map<String, String> defined = read(header);
        for (RecordComponent c : Libc.Numbers.class.getRecordComponents()) {
            String value = defined.get(c.getName());
            assertThat(value).as("__NR_%s in %s", c.getName(), header).isNotNull();
            long ours = (long) c.getAccessor().invoke(numbers);
            assertThat(ours).as("__NR_%s", c.getName()).isEqualTo(Long.parseLong(value));
        }
    }

    @Test
    void x86_64() throws Exception {
        check(Libc.Numbers.X86_64, Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"));
    }

    @Test
    void theGenericTableOfAarch64AndRiscv64() throws Exception {
        check(Libc.Numbers.GENERIC, Path.of("/usr/include/asm-generic/unistd.h"));
    }

    @Test
    void aCallThatFailsSaysWhyAndOnWhat() throws Exception {
        try (Sys sys = new Sys()) {
            PosixException e = org.assertj.core.api.Assertions.catchThrowableOfType(PosixException.class,
                    () -> sys.openat(Sys.AT_FDCWD, "/no/such/file".getBytes(), Sys.O_RDONLY, 0));
            assertThat(e.errno()).isEqualTo(Errno.ENOENT);
            assertThat(e.getMessage()).isEqualTo("open '/no/such/file': No such file or directory");
            assertThat(sys.geteuid()).isEqualTo(Integer.parseInt(
                    Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Uid:"))
                            .findFirst().orElseThrow().split("\\s+")[2]));
        }
    }
}
