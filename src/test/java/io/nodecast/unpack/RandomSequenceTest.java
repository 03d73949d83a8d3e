package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.format.ChunkInputs;
import io.nodecast.testing.RawTar;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random sequences of members over a handful of names (directories, files, links that stay in or climb out, hard
 * links, each replacing what an earlier one made, through names spelled with "./", "//", '..' and absolute paths),
 * each unpacked four ways: with openat2 and with the walk, with no writer thread and with two; one sequence in three
 * comes as two bundles, the second unpacked over the first. The hand-made
 * {@link HostileCorpus} holds the cases someone thought of; these are the ones nobody did. What must hold:
 * <ul>
 * <li>nothing outside DEST moves, whatever the outcome;</li>
 * <li>the outcome is what a model of sequential tar under nodecast's rules (docs/safety.md) says, and the same all
 *     four ways: the tree it predicts, or a one-line refusal naming the bundle;</li>
 * <li>after a refusal DEST still takes a bundle.</li>
 * </ul>
 * A failure prints the seed and the members, which is all it takes to make the case a fixed one.
 */
class RandomSequenceTest {
    private static final int PER_BATCH = 80;

    @TempDir Path tmp;

    @ParameterizedTest(name = "seeds {0}..+" + PER_BATCH)
    @ValueSource(ints = {0, 1000, 2000, 3000, 4000, 5000})
    void matchesTheModelAndStaysInside(int first) throws IOException {
        for (int seed = first; seed < first + PER_BATCH; seed++) check(seed);
    }

    private void check(int seed) throws IOException {
        Random r = new Random(seed);
        int chunk = 512 * (1 + r.nextInt(16));
        List<Member> members = new ArrayList<>();
        int n = 1 + r.nextInt(12);
        for (int i = 0; i < n; i++) members.add(Member.random(r, i, members));
        // now and then the members come as two bundles, the second unpacked over the first
        int split = r.nextInt(3) == 0 ? 1 + r.nextInt(n) : n;
        Object expected = Model.run(members);
        String shown = "seed " + seed + ", chunks of " + chunk + ": " + members.subList(0, split)
                + (split < n ? ", then a second bundle: " + members.subList(split, n) : "");

        Object first = null;
        for (int writers : new int[] {0, 2}) {
            for (boolean openat2 : new boolean[] {true, false}) {
                Sandbox box = new Sandbox(Files.createDirectories(tmp.resolve(seed + "-" + writers + "-" + openat2)));
                Object got;
                try {
                    for (List<Member> bundle : split < n ? List.of(members.subList(0, split), members.subList(split, n)) : List.of(members)) {
                        new Extractor(Destination.prepare(box.dest.toString(), "testhost"),
                                new Extractor.Options(writers, 0, s -> { }, openat2), Containment.ALL)
                                .extract(ChunkInputs.of(Member.tar(bundle, box.outside), chunk), "bundle.tar");
                    }
                    got = box.tree();
                } catch (NodecastException e) {
                    assertThat(e.getMessage()).as(shown).contains("bundle.tar").doesNotContain("\n");
                    assertThat(e.exitCode()).as(shown + ": " + e.getMessage()).isNotIn(ExitCode.OK, ExitCode.FAILURE);
                    got = e.exitCode();
                    box.unpack(new RawTar().file("after", "fine").bytes());
                    assertThat(box.tree()).as(shown + ": DEST after a refusal").containsEntry("after", "fine");
                } catch (RuntimeException e) {
                    throw new AssertionError(shown + ": " + e, e);
                }
                String way = "writers " + writers + ", openat2 " + openat2;
                box.assertUntouched();
                switch (expected) {
                    case Model.Refused refused -> assertThat(got).as(shown + " (" + way + "): " + refused.why()).isEqualTo(ExitCode.UNSAFE);
                    case Model.Fails fails -> assertThat(got).as(shown + " (" + way + "): " + fails.why()).isInstanceOf(ExitCode.class);
                    default -> assertThat(got).as(shown + " (" + way + ")").isEqualTo(expected);
                }
                if (first == null) first = got;
                else assertThat(got).as(shown + ": the same four ways").isEqualTo(first);
            }
        }
    }

    /** One member: its kind, its name as written in the archive, and its content or link target. */
    record Member(char kind, String name, String value) {
        private static final String[] NAMES = {"a", "b", "c"};
        static final String OUTSIDE = "@OUTSIDE@";

        /**
         * A member drawn from what came before: a hard link mostly to a name an earlier member made, a link's target
         * mostly within its depth, odd spellings and hostile names now and then, so that about half the sequences
         * unpack and the others are refused somewhere along the way, after earlier members have made things.
         */
        static Member random(Random r, int index, List<Member> before) {
            int k = r.nextInt(100);
            char kind = k < 25 ? '5' : k < 62 ? '0' : k < 90 ? '2' : '1';
            String name = name(r);
            String value = switch (kind) {
                case '0' -> "m" + index;
                case '2' -> linkTarget(r, name);
                case '1' -> hardlinkTarget(r, name, before);
                default -> "";
            };
            return new Member(kind, name, value);
        }

        /** Mostly plain names one to three deep; now and then spelled oddly, climbing, absolute or empty. */
        private static String name(Random r) {
            int odd = r.nextInt(150);
            if (odd == 0) return OUTSIDE + "/x";
            if (odd == 1) return "./";
            if (odd == 2) return "";
            List<String> parts = new ArrayList<>();
            int depth = 1 + r.nextInt(3);
            for (int i = 0; i < depth; i++) parts.add(r.nextInt(150) == 0 ? ".." : NAMES[r.nextInt(NAMES.length)]);
            String s = String.join(r.nextInt(15) == 0 ? "//" : "/", parts);
            if (r.nextInt(10) == 0) s = "./" + s;
            if (r.nextInt(15) == 0) s = s + "/";
            return s;
        }

        /** Up no further than the link's depth, mostly; then down a few names; now and then hostile or odd. */
        private static String linkTarget(Random r, String link) {
            int odd = r.nextInt(100);
            if (odd == 0) return OUTSIDE;
            if (odd == 1) return OUTSIDE + "/victim";
            if (odd == 2) return ".";
            if (odd == 3) return "";
            int depth = (int) link.chars().filter(c -> c == '/').count();
            int up = r.nextInt(20) == 0 ? depth + 1 + r.nextInt(2) : r.nextInt(depth + 1);
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < up; i++) parts.add("..");
            int down = r.nextInt(3);
            for (int i = 0; i < down; i++) {
                int w = r.nextInt(40);
                parts.add(w == 0 ? "outside" : w == 1 ? "victim" : w == 2 ? ".." : NAMES[r.nextInt(NAMES.length)]);
            }
            return parts.isEmpty() ? "." : String.join("/", parts);
        }

        /** An earlier member's name (a file's, mostly), a name under the link's own, or now and then the victim. */
        private static String hardlinkTarget(Random r, String link, List<Member> before) {
            int odd = r.nextInt(50);
            if (odd == 0) return OUTSIDE + "/victim";
            if (odd == 1) return "../outside/victim";
            if (odd == 2) return link + "/a";
            List<Member> files = before.stream().filter(m -> m.kind == '0').toList();
            if (!files.isEmpty() && r.nextInt(6) != 0) return files.get(files.size() - 1 - r.nextInt(Math.min(2, files.size()))).name;
            if (!before.isEmpty() && r.nextBoolean()) return before.get(r.nextInt(before.size())).name;
            return name(r);
        }

        static byte[] tar(List<Member> members, Path outside) {
            RawTar t = new RawTar();
            for (Member m : members) {
                String name = m.name.replace(OUTSIDE, outside.toString());
                String value = m.value.replace(OUTSIDE, outside.toString());
                switch (m.kind) {
                    case '5' -> t.header(name.isEmpty() || name.endsWith("/") ? name : name + "/", '5').mode(0755).end();
                    case '0' -> t.file(name, value);
                    case '2' -> t.symlink(name, value);
                    default -> t.hardlink(name, value);
                }
            }
            return t.bytes();
        }

        @Override
        public String toString() {
            return switch (kind) {
                case '5' -> "dir '" + name + "'";
                case '0' -> "file '" + name + "'";
                case '2' -> "symlink '" + name + "' -> '" + value + "'";
                default -> "hardlink '" + name + "' -> '" + value + "'";
            };
        }
    }

    /**
     * Sequential tar under nodecast's rules, on a map of names: a member replaces whatever is at its name (a whole
     * tree included), except a directory over a directory; a missing parent is made; a file where a parent should be
     * is replaced by a directory; a link where a parent should be refuses the member, as do '..' and absolute names,
     * a link whose target leaves DEST from where it is, and a hard link to anything but a regular file made before.
     *
     * @return the tree as {@link Sandbox#tree} shows it, a {@link Refused} or a {@link Fails}
     */
    static final class Model {
        record Refused(String why) {}

        /** Not a rule's refusal but an operation that cannot be done; any failing exit code will do. */
        record Fails(String why) {}

        private sealed interface Node {}

        private record Dir() implements Node {}

        private record File(String content) implements Node {}

        private record Link(String target) implements Node {}

        private static final class Stop extends RuntimeException {
            final Object outcome;

            Stop(Object outcome) {
                super(null, null, false, false);
                this.outcome = outcome;
            }
        }

        private final TreeMap<String, Node> tree = new TreeMap<>();

        static Object run(List<Member> members) {
            Model m = new Model();
            try {
                for (Member member : members) m.apply(member);
            } catch (Stop s) {
                return s.outcome;
            }
            Map<String, String> out = new TreeMap<>();
            m.tree.forEach((k, v) -> out.put(switch (v) {
                case Dir d -> k + "/";
                default -> k;
            }, switch (v) {
                case Dir d -> "";
                case File f -> f.content();
                case Link l -> "->" + l.target();
            }));
            return out;
        }

        private static Stop refused(String why) {
            return new Stop(new Refused(why));
        }

        private void apply(Member m) {
            List<String> p = parts(m.name());
            if (m.kind() != '5' && p.isEmpty()) throw refused("replaces the destination");
            switch (m.kind()) {
                case '5' -> {
                    if (p.isEmpty()) return;
                    parents(p);
                    if (!(tree.get(key(p)) instanceof Dir)) {
                        remove(p);
                        tree.put(key(p), new Dir());
                    }
                }
                case '0' -> {
                    parents(p);
                    remove(p);
                    tree.put(key(p), new File(m.value()));
                }
                case '2' -> {
                    checkTarget(p, m.value());
                    parents(p);
                    remove(p);
                    tree.put(key(p), new Link(m.value()));
                }
                default -> {
                    List<String> target = parts(m.value());
                    if (target.isEmpty()) throw refused("a hard link to the destination");
                    parents(p);
                    for (int i = 1; i < target.size(); i++) {
                        if (!(tree.get(key(target.subList(0, i))) instanceof Dir)) throw refused("a hard link whose target's parent is not a directory");
                    }
                    if (!(tree.get(key(target)) instanceof File f)) throw refused("a hard link to what is not a regular file");
                    if (p.equals(target)) return;
                    if (target.size() > p.size() && target.subList(0, p.size()).equals(p)) {
                        throw new Stop(new Fails("a hard link replacing a directory that holds its own target"));
                    }
                    remove(p);
                    tree.put(key(p), f);
                }
            }
        }

        /** Docs/safety.md's name rules: no absolute name, no '..'; "." and empty components dropped. */
        private static List<String> parts(String name) {
            if (name.isEmpty()) throw refused("an empty name");
            if (name.startsWith(Member.OUTSIDE) || name.startsWith("/")) throw refused("an absolute name");
            List<String> out = new ArrayList<>();
            for (String s : name.split("/")) {
                if (s.isEmpty() || s.equals(".")) continue;
                if (s.equals("..")) throw refused("'..' in a name");
                out.add(s);
            }
            return out;
        }

        /** Relative, its leading '..' no more than its depth, none after a name. */
        private static void checkTarget(List<String> link, String target) {
            if (target.isEmpty()) throw refused("an empty link target");
            if (target.startsWith(Member.OUTSIDE)) throw refused("an absolute link target");
            int up = 0;
            boolean sawName = false;
            for (String s : target.split("/")) {
                if (s.equals("..")) {
                    if (sawName) throw refused("a link target with '..' after a name");
                    up++;
                } else if (!s.isEmpty() && !s.equals(".")) {
                    sawName = true;
                }
            }
            if (up > link.size() - 1) throw refused("a link target that leaves DEST");
        }

        /** Each parent in turn: made if missing, a file replaced by a directory, a link refused. */
        private void parents(List<String> p) {
            for (int i = 1; i < p.size(); i++) {
                List<String> parent = p.subList(0, i);
                switch (tree.get(key(parent))) {
                    case null -> tree.put(key(parent), new Dir());
                    case Dir d -> { }
                    case Link l -> throw refused("written through the link '" + key(parent) + "'");
                    case File f -> {
                        remove(parent);
                        tree.put(key(parent), new Dir());
                    }
                }
            }
        }

        private void remove(List<String> p) {
            String k = key(p);
            tree.remove(k);
            tree.subMap(k + "/", k + "0").clear();   // '0' follows '/': everything under k
        }

        private static String key(List<String> p) {
            return String.join("/", p);
        }
    }
}
