package io.nodecast.image;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MountTableTest {
    @Test
    void readsMountPointsTypesAndOptionsWithOptionalFieldsAndEscapes() {
        List<MountTable.Mount> m = MountTable.parse(List.of(
                "36 35 98:0 /mnt1 /mnt/parent\\040dir rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue",
                "101 30 0:57 / /dev/shm/local rw,nosuid,nodev,relatime - fuse.fuse-overlayfs fuse-overlayfs rw,user_id=1000,group_id=1000",
                "garbage"));
        assertThat(m).hasSize(2);
        assertThat(m.get(0).point()).isEqualTo(Path.of("/mnt/parent dir"));
        assertThat(m.get(0).type()).isEqualTo("ext3");
        assertThat(m.get(1).fuse()).isTrue();
        assertThat(m.get(1).options()).contains("user_id=1000");
        assertThat(MountTable.unescape("a\\134b\\011c")).isEqualTo("a\\b\tc");
    }

    @Test
    void thisProcessSeesItsOwnRoot() {
        assertThat(MountTable.read()).anyMatch(x -> x.point().equals(Path.of("/")));
    }
}
