package io.nodecast.delivery.slurm;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * What the batch step tells every node about the bundles, on the node step's command line (so no node reads
 * anything from the shared file system): one item per bundle, in delivery order.
 */
record Manifest(List<Item> items) {

    /**
     * @param label  the bundle as the user named it (for messages)
     * @param name   its file name: the node-local copy is called so, in a directory of its own
     * @param size   bytes
     * @param sha256 the checksum the batch step read; every node checks its copy against it
     */
    record Item(String label, String name, long size, String sha256) {}

    Manifest {
        items = List.copyOf(items);
    }

    String encode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(items.size());
            for (Item i : items) {
                out.writeUTF(i.label());
                out.writeUTF(i.name());
                out.writeLong(i.size());
                out.writeUTF(i.sha256());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes.toByteArray());
    }

    static Manifest decode(String text) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(Base64.getUrlDecoder().decode(text)))) {
            int n = in.readInt();
            List<Item> items = new ArrayList<>(n);
            for (int i = 0; i < n; i++) items.add(new Item(in.readUTF(), in.readUTF(), in.readLong(), in.readUTF()));
            return new Manifest(items);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("a corrupt bundle manifest from the batch step", e);
        }
    }
}
