package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.format.Compression;
import io.nodecast.testing.Cli;
import io.nodecast.testing.TarBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The squashfs superblock of an image tar2sqfs really made: told from a tar, and refused when it is damaged. */
class SuperblockTest {
    @TempDir static Path tmp;
    static byte[] image;

    @BeforeAll
    static void makeImage() throws IOException {
        Images.assumeTools();
        Path src = Files.createDirectories(tmp.resolve("src/lib"));
        Files.writeString(src.resolve("a.py"), "A = 1\n");
        Cli r = Cli.run("bundle", "dir", tmp.resolve("src").toString(), "-q", "--pyc", "keep", "-o", tmp.resolve("ok.sqfs").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        image = Files.readAllBytes(tmp.resolve("ok.sqfs"));
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    @Test
    void anImageIsToldFromEveryTarByItsFirstBytes() {
        assertThat(Superblock.isImage(ByteBuffer.wrap(image))).isTrue();
        for (Compression c : Compression.values()) {
            byte[] tar = new TarBuilder(c).file("hsqs", "not an image").bytes();
            assertThat(Superblock.isImage(ByteBuffer.wrap(tar))).as(c.name()).isFalse();
        }
        assertThat(Superblock.isImage(ByteBuffer.wrap(new byte[] {'h', 's', 'q'}))).isFalse();
        // the position is where the data starts, and it is not moved
        ByteBuffer shifted = ByteBuffer.allocate(image.length + 3).put(new byte[3]).put(image).position(3);
        assertThat(Superblock.isImage(shifted)).isTrue();
        assertThat(shifted.position()).isEqualTo(3);
    }

    @Test
    void theImageTar2sqfsMadeIsAcceptedWithWhatItSays() throws IOException {
        Superblock s = Superblock.check(write("copy.sqfs", image), "copy.sqfs");
        assertThat(s.compressor()).isEqualTo("zstd");
        assertThat(s.inodes()).isEqualTo(4);   // the root, the relocation list (.nodecast-bundle), lib, lib/a.py
        assertThat(s.blockSize()).isEqualTo(128 << 10);
        assertThat(s.bytesUsed()).isLessThanOrEqualTo(image.length);
    }

    @Test
    void aTruncatedImageIsRefusedNamingTheBundle() throws IOException {
        long used = Superblock.check(write("whole.sqfs", image), "whole.sqfs").bytesUsed();
        Path p = write("short.sqfs", Arrays.copyOf(image, (int) used - 1));
        assertThatThrownBy(() -> Superblock.check(p, "/shared/short.sqfs"))
                .isInstanceOfSatisfying(NodecastException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.BUNDLE))
                .hasMessageContaining("/shared/short.sqfs is not a usable squashfs image: it is truncated")
                .hasMessageEndingWith("not mounted");
    }

    @Test
    void damagedFieldsAreRefused() throws IOException {
        assertThat(refusal(field(28, (short) 5))).contains("squashfs version 5.0");
        assertThat(refusal(field(12, 1000))).contains("block size 1000");
        assertThat(refusal(field(20, (short) 9))).contains("unknown compressor id 9");
        assertThat(refusal(field(64, Long.MAX_VALUE / 2))).contains("inode and directory tables are out of place");
        byte[] garbage = image.clone();
        garbage[0] = 'X';
        assertThat(refusal(garbage)).contains("does not start with the squashfs magic");
        assertThat(refusal(new byte[] {'h', 's', 'q', 's', 0})).contains("shorter than a superblock");
    }

    private byte[] field(int offset, Object value) {
        ByteBuffer b = ByteBuffer.wrap(image.clone()).order(ByteOrder.LITTLE_ENDIAN);
        switch (value) {
            case Short s -> b.putShort(offset, s);
            case Integer i -> b.putInt(offset, i);
            case Long l -> b.putLong(offset, l);
            default -> throw new IllegalArgumentException();
        }
        return b.array();
    }

    private String refusal(byte[] bytes) throws IOException {
        Path p = write("bad.sqfs", bytes);
        try {
            Superblock.check(p, "bad.sqfs");
            throw new AssertionError("accepted");
        } catch (NodecastException e) {
            assertThat(e.exitCode()).isEqualTo(ExitCode.BUNDLE);
            return e.getMessage();
        }
    }
}
