package io.nodecast.core;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The name of this node as the user sees it in messages. */
public final class Hosts {
    private Hosts() {}

    public static String localName() {
        // /proc is cheaper than a resolver round trip and needs no network on a compute node
        try {
            String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            if (!name.isEmpty()) return name;
        } catch (Exception ignored) {
            // fall through to the JDK
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
