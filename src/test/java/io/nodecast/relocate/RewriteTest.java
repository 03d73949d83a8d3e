package io.nodecast.relocate;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RewriteTest {
    static final String OLD = "/root/.pyenv/versions/3.11.7";
    static final List<Rewrite.Mapping> SHORT = Rewrite.ordered(List.of(Rewrite.Mapping.of(OLD, "/dev/shm/py")));

    static List<Rewrite.Mapping> to(String dest) {
        return Rewrite.ordered(List.of(Rewrite.Mapping.of(OLD, dest)));
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String changed(Rewrite.Result r) {
        assertThat(r).isInstanceOf(Rewrite.Result.Changed.class);
        return new String(((Rewrite.Result.Changed) r).bytes(), StandardCharsets.UTF_8);
    }

    @Test
    void textReplacesWholePathsOnly() {
        String in = "prefix=" + OLD + "\nlibdir=${prefix}/lib\n-L" + OLD + "/lib '" + OLD + "' " + OLD + "0/x " + OLD + ".bak " + OLD + "-dbg";
        assertThat(changed(Rewrite.text(b(in), SHORT))).isEqualTo(
                "prefix=/dev/shm/py\nlibdir=${prefix}/lib\n-L/dev/shm/py/lib '/dev/shm/py' " + OLD + "0/x " + OLD + ".bak " + OLD + "-dbg");
    }

    @Test
    void textMayGrowAndUnchangedIsSaid() {
        String dest = "/local/" + "x".repeat(200);
        assertThat(changed(Rewrite.text(b("home = " + OLD + "/bin\n"), to(dest)))).isEqualTo("home = " + dest + "/bin\n");
        assertThat(Rewrite.text(b("nothing here " + OLD.substring(1)), SHORT)).isInstanceOf(Rewrite.Result.Unchanged.class);
        assertThat(changed(Rewrite.text(b(OLD), SHORT))).isEqualTo("/dev/shm/py");
    }

    @Test
    void theMostSpecificOriginWins() {
        var maps = Rewrite.ordered(List.of(Rewrite.Mapping.of("/usr/lib/R", "/d/lib/R"), Rewrite.Mapping.of("/usr/lib/R/site-library", "/d/lib/R/libs/1")));
        assertThat(changed(Rewrite.text(b("/usr/lib/R/site-library/x:/usr/lib/R/library"), maps)))
                .isEqualTo("/d/lib/R/libs/1/x:/d/lib/R/library");
    }

    @Test
    void shebangShortEnoughStaysPlainAndKeepsArguments() {
        String in = "#!" + OLD + "/bin/python3.11 -E\n# -*- coding: utf-8 -*-\nimport sys\nprint('" + OLD + "')\n";
        assertThat(changed(Rewrite.script(b(in), SHORT)))
                .isEqualTo("#!/dev/shm/py/bin/python3.11 -E\n# -*- coding: utf-8 -*-\nimport sys\nprint('/dev/shm/py')\n");
    }

    @Test
    void longPythonShebangBecomesPipsTrampoline() {
        String dest = "/local/scratch/" + "j".repeat(120);
        String in = "#!" + OLD + "/bin/python\nimport sys\n";
        String out = changed(Rewrite.script(b(in), to(dest)));
        assertThat(out).isEqualTo("#!/bin/sh\n'''exec' " + dest + "/bin/python \"$0\" \"$@\"\n' '''\nimport sys\n");
    }

    @Test
    void theLimitIs127BytesWithTheNewline() {
        String bin = "/bin/python";
        String exact = "/" + "d".repeat(127 - 3 - bin.length() - 1);  // "#!" + path + "\n" == 127
        assertThat(("#!" + exact + bin + "\n").length()).isEqualTo(127);
        assertThat(changed(Rewrite.script(b("#!" + OLD + bin + "\nx\n"), to(exact)))).startsWith("#!" + exact + bin + "\n");
        assertThat(changed(Rewrite.script(b("#!" + OLD + bin + "\nx\n"), to(exact + "e")))).startsWith("#!/bin/sh\n'''exec' ");
    }

    @Test
    void aBlankInTheNewPathQuotesItInATrampoline() {
        String out = changed(Rewrite.script(b("#!" + OLD + "/bin/python3.11\nimport x\n"), to("/scratch/my job/py")));
        assertThat(out).isEqualTo("#!/bin/sh\n'''exec' \"/scratch/my job/py/bin/python3.11\" \"$0\" \"$@\"\n' '''\nimport x\n");
    }

    @Test
    void aTrampolineInTheOriginalIsReadBackAndMadePlainWhenItFits() {
        String longOld = "/gpfs/projects/" + "p".repeat(120);
        String in = "#!/bin/sh\n'''exec' " + longOld + "/bin/python3 -s \"$0\" \"$@\"\n' '''\n# -*- coding: utf-8 -*-\nimport re\n";
        var maps = Rewrite.ordered(List.of(Rewrite.Mapping.of(longOld, "/dev/shm/py")));
        assertThat(changed(Rewrite.script(b(in), maps))).isEqualTo("#!/dev/shm/py/bin/python3 -s\n# -*- coding: utf-8 -*-\nimport re\n");
        String quoted = "#!/bin/sh\n'''exec' \"/opt/with blank/bin/python\" \"$0\" \"$@\"\n' '''\nimport re\n";
        var q = Rewrite.ordered(List.of(Rewrite.Mapping.of("/opt/with blank", "/d")));
        assertThat(changed(Rewrite.script(b(quoted), q))).isEqualTo("#!/d/bin/python\nimport re\n");
    }

    @Test
    void aTrampolineSurvivesASecondRelocation() {
        String dest1 = "/local/" + "a".repeat(130);
        String first = changed(Rewrite.script(b("#!" + OLD + "/bin/python\nimport sys\n"), to(dest1)));
        var back = Rewrite.ordered(List.of(Rewrite.Mapping.of(dest1, "/b")));
        assertThat(changed(Rewrite.script(b(first), back))).isEqualTo("#!/b/bin/python\nimport sys\n");
    }

    @Test
    void aLongShebangOfAnotherInterpreterIsWrittenWithANote() {
        String dest = "/local/" + "z".repeat(130);
        Rewrite.Result r = Rewrite.script(b("#!" + OLD + "/bin/bash\necho " + OLD + "\n"), to(dest));
        assertThat(changed(r)).isEqualTo("#!" + dest + "/bin/bash\necho " + dest + "\n");
        assertThat(((Rewrite.Result.Changed) r).note()).hasValueSatisfying(n -> assertThat(n).contains("Linux 5.1"));
    }

    @Test
    void aScriptWhoseInterpreterIsElsewhereIsRewrittenAsText() {
        String in = "#!/bin/sh\nprefix_real=\"" + OLD + "\"\nexec_prefix=\"" + OLD + "\"\n";
        assertThat(changed(Rewrite.script(b(in), SHORT))).isEqualTo("#!/bin/sh\nprefix_real=\"/dev/shm/py\"\nexec_prefix=\"/dev/shm/py\"\n");
        assertThat(changed(Rewrite.script(b("#!/usr/bin/env python3\nP='" + OLD + "'\n"), SHORT)))
                .isEqualTo("#!/usr/bin/env python3\nP='/dev/shm/py'\n");
    }

    @Test
    void aCarriageReturnAfterTheShebangGoes() {
        assertThat(changed(Rewrite.script(b("#!" + OLD + "/bin/python\r\nx\r\n"), SHORT))).isEqualTo("#!/dev/shm/py/bin/python\nx\r\n");
    }

    /** The NUL-terminated string at offset, as a program reads it. */
    static String cstr(byte[] b, int offset) {
        int end = offset;
        while (b[end] != 0) end++;
        return new String(b, offset, end - offset, StandardCharsets.ISO_8859_1);
    }

    static byte[] patched(Rewrite.Result r) {
        assertThat(r).isInstanceOf(Rewrite.Result.Changed.class);
        return ((Rewrite.Result.Changed) r).bytes();
    }

    @Test
    void cstringWithALongTailIsPaddedWithSlashesInFront() {
        byte[] in = b("\0\0ELF.." + OLD + "/lib/python3.11\0next\0");
        byte[] out = patched(Rewrite.cstring(in, SHORT));
        assertThat(out).hasSameSizeAs(in);
        int pad = OLD.length() - "/dev/shm/py".length();
        assertThat(cstr(out, 7)).isEqualTo("/".repeat(pad) + "/dev/shm/py/lib/python3.11");
        assertThat(cstr(out, 7 + OLD.length() + "/lib/python3.11".length() + 1)).isEqualTo("next");
        assertThat(cstr(in, 7)).as("the input is not modified").isEqualTo(OLD + "/lib/python3.11");
    }

    @Test
    void cstringKeepsATailTheLinkerMayHaveMergedWithAnotherString() {
        // CPython's PY_VERSION "3.11.7" is stored as the tail of "/root/.pyenv/versions/3.11.7": one string, two pointers
        byte[] in = b("x\0" + OLD + "\0y");
        int version = 2 + OLD.length() - "3.11.7".length();
        byte[] out = patched(Rewrite.cstring(in, SHORT));
        assertThat(cstr(out, 2)).isEqualTo("/dev/shm/py");
        assertThat(cstr(out, version)).isEqualTo("3.11.7");
        assertThat(out).hasSameSizeAs(in);
    }

    @Test
    void cstringWithAShortTailAndTooLittleRoomIsRefused() {
        String dest = "/d/" + "x".repeat(OLD.length() - 3 - 5);  // 5 bytes shorter: too few to keep a 7-byte tail
        Rewrite.Result r = Rewrite.cstring(b("x\0" + OLD + "/ab\0"), to(dest));
        assertThat(r).isInstanceOf(Rewrite.Result.Refused.class);
        assertThat(((Rewrite.Result.Refused) r).why()).contains("merged");
        // the same new path with the old path's last bytes keeps every tail: padded in place
        String sameEnd = "/d/" + "x".repeat(OLD.length() - 3 - 5 - 6) + "3.11.7";
        assertThat(cstr(patched(Rewrite.cstring(b("x\0" + OLD + "/ab\0"), to(sameEnd))), 2))
                .isEqualTo("/".repeat(5) + sameEnd + "/ab");
    }

    @Test
    void cstringWithSeveralPathsInOneString() {
        byte[] in = b("x\0" + OLD + "/lib:" + OLD + "/lib64\0y");
        byte[] out = patched(Rewrite.cstring(in, SHORT));
        int pad = OLD.length() - "/dev/shm/py".length();
        assertThat(cstr(out, 2)).isEqualTo("/".repeat(pad) + "/dev/shm/py/lib:/dev/shm/py/lib64");
        assertThat(out).hasSameSizeAs(in);
    }

    @Test
    void cstringEqualLengthWithALongTail() {
        String same = "/" + "s".repeat(OLD.length() - 1);
        byte[] in = b("a\0" + OLD + "/lib/python3.11\0");
        assertThat(cstr(patched(Rewrite.cstring(in, to(same))), 2)).isEqualTo(same + "/lib/python3.11");
    }

    @Test
    void cstringLongerDestIsRefusedForTheWholeFile() {
        byte[] in = b("a\0" + OLD + "/x\0b\0" + OLD + "/y\0");
        Rewrite.Result r = Rewrite.cstring(in, to(OLD + "/longer"));
        assertThat(r).isInstanceOf(Rewrite.Result.Refused.class);
        assertThat(((Rewrite.Result.Refused) r).why()).contains("7 bytes longer");
    }

    @Test
    void cstringWithoutAWholePathIsLeftAlone() {
        assertThat(Rewrite.cstring(b("a\0" + OLD + "9\0"), SHORT)).isInstanceOf(Rewrite.Result.Unchanged.class);
        assertThat(Rewrite.cstring(b("a\0" + OLD.substring(1) + "\0"), SHORT)).isInstanceOf(Rewrite.Result.Unchanged.class);
    }

    @Test
    void findReportsTheFirstWholePath() {
        byte[] in = b("xx" + OLD + "1 " + OLD + "/");
        assertThat(new Rewrite.Finder(SHORT).find(in, 0, in.length)).isEqualTo(2 + OLD.length() + 2);
        assertThat(new Rewrite.Finder(SHORT).find(in, 0, 10)).isEqualTo(-1);
    }

    /**
     * The skipping search against the plain one, on bytes made of the originals' own pieces (where a wrong skip
     * would pass over a match): originals that nest, share a tail, differ in length, and one of a single byte.
     */
    @Test
    void findAgreesWithAPlainSearchOnEveryOffset() {
        List<List<Rewrite.Mapping>> sets = List.of(SHORT,
                Rewrite.ordered(List.of(Rewrite.Mapping.of("/opt/a", "/x"), Rewrite.Mapping.of("/opt/a/lib", "/y"),
                        Rewrite.Mapping.of("/srv/pa", "/z"), Rewrite.Mapping.of("ba/opt", "/w"))),
                Rewrite.ordered(List.of(Rewrite.Mapping.of("/", "/q"), Rewrite.Mapping.of("/aa/a", "/r"))));
        java.util.Random random = new java.util.Random(42);
        String pieces = OLD + "/opt/a/lib/srv/pa.ba/opt\0 -_";
        int compared = 0;
        for (List<Rewrite.Mapping> mappings : sets) {
            Rewrite.Finder finder = new Rewrite.Finder(mappings);
            for (int round = 0; round < 300; round++) {
                byte[] in = new byte[random.nextInt(200)];
                for (int k = 0; k < in.length; ) {
                    int from = random.nextInt(pieces.length()), n = Math.min(in.length - k, 1 + random.nextInt(12));
                    for (int j = 0; j < n; j++) in[k++] = (byte) pieces.charAt((from + j) % pieces.length());
                }
                int end = in.length, limit = random.nextInt(end + 1);
                for (int from = 0; from <= end; from += 1 + random.nextInt(5)) {
                    int plain = -1;
                    for (int i = from; i < limit && plain < 0; i++) if (Rewrite.matchAt(in, i, end, mappings) != null) plain = i;
                    assertThat(finder.find(in, from, limit, end)).as("from %d in %s", from,
                            new String(in, StandardCharsets.ISO_8859_1)).isEqualTo(plain);
                    if (plain >= 0) compared++;
                }
            }
        }
        assertThat(compared).as("offsets where a path was found").isGreaterThan(500);
    }

    @Test
    void shellQuoting() {
        assertThat(Rewrite.shellQuote("/plain/path")).isEqualTo("/plain/path");
        assertThat(Rewrite.shellQuote("/a b/$c\"d`e\\f")).isEqualTo("\"/a b/\\$c\\\"d\\`e\\\\f\"");
    }
}
