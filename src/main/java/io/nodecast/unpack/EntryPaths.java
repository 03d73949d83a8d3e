package io.nodecast.unpack;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The containment rules every archive name and link target passes before anything is written.
 * Tar streams keep {@code ..} and absolute names as they are; refusing them is the unpacker's job.
 */
final class EntryPaths {
    private EntryPaths() {}

    /** The entry's path relative to the destination, or null for the destination itself ("./"). */
    static Path entry(String name) {
        if (name.startsWith("/")) throw unsafe(name, "has an absolute path");
        List<String> parts = new ArrayList<>();
        for (String part : name.split("/")) {
            if (part.isEmpty() || part.equals(".")) continue;
            if (part.equals("..")) throw unsafe(name, "climbs out with '..'");
            if (part.indexOf('\0') >= 0) throw unsafe(name, "has a NUL byte in its name");
            parts.add(part);
        }
        return parts.isEmpty() ? null : Path.of(String.join("/", parts));
    }

    /**
     * A symbolic link's target must stay inside the destination. Accepted form: leading '..' steps, no more than
     * the link's depth, then plain names. Because no entry is ever written through a link, every directory the
     * '..' steps cross is real, so the lexical check is the physical one; and since every link obeys it,
     * following a chain of links cannot leave the destination either.
     */
    static void checkSymlinkTarget(Path link, String target) {
        if (target.isEmpty()) throw unsafe(link.toString(), "is a symbolic link with an empty target");
        if (target.startsWith("/")) {
            throw unsafe(link.toString(), "is a symbolic link to an absolute path (" + target + "), which leaves the destination");
        }
        int depth = link.getNameCount() - 1;
        int up = 0;
        boolean sawName = false;
        for (String part : target.split("/")) {
            if (part.isEmpty() || part.equals(".")) continue;
            if (part.equals("..")) {
                if (sawName) {
                    throw unsafe(link.toString(), "is a symbolic link whose target (" + target + ") climbs back with '..' after a name");
                }
                up++;
            } else {
                sawName = true;
            }
        }
        if (up > depth) {
            throw unsafe(link.toString(), "is a symbolic link to " + target + ", which leaves the destination");
        }
    }

    static NodecastException unsafe(String entry, String why) {
        return new NodecastException(ExitCode.UNSAFE, "entry '" + entry + "' " + why + "; refusing the bundle");
    }
}
