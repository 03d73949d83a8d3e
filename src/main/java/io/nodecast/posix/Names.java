package io.nodecast.posix;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** File names are bytes; messages are one line of text. This is the one way to show a name to a user. */
public final class Names {
    private Names() {}

    /** Longest name shown in full; an archive can carry megabyte names, and a message stays one readable line. */
    public static final int SHOWN = 160;

    /**
     * The name as UTF-8 where it is valid, bytes that are not as {@code \xNN}, control characters escaped,
     * and the middle of a long name elided with its full length given.
     */
    public static String show(byte[] name) {
        return show(name, 0, name.length);
    }

    public static String show(byte[] name, int from, int to) {
        int length = to - from;
        if (length > SHOWN) {
            return show(name, from, from + SHOWN / 2) + "…(" + length + " bytes)…" + show(name, to - SHOWN / 4, to);
        }
        StringBuilder out = new StringBuilder(length);
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        int i = from;
        while (i < to) {
            int b = name[i] & 0xFF;
            int len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
            if (len == 1) {
                if (b < 0x20 || b == 0x7F) out.append(String.format("\\x%02x", b));
                else out.append((char) b);
                i++;
                continue;
            }
            if (len > 1 && i + len <= to) {
                try {
                    CharBuffer c = utf8.decode(ByteBuffer.wrap(name, i, len));
                    out.append(c);
                    i += len;
                    continue;
                } catch (CharacterCodingException invalid) {
                    // shown as bytes below
                }
            }
            out.append(String.format("\\x%02x", b));
            i++;
        }
        return out.toString();
    }

    /** Kernel bytes for a Java string (UTF-8). */
    public static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
