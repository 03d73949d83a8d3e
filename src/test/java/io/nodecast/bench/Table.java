package io.nodecast.bench;

import java.util.ArrayList;
import java.util.List;

/** A Markdown table, printed as it is filled. */
final class Table {
    private final List<String> header;
    private final List<List<String>> rows = new ArrayList<>();

    Table(String... header) {
        this.header = List.of(header);
    }

    void row(Object... cells) {
        List<String> r = new ArrayList<>();
        for (Object c : cells) r.add(c instanceof Double d ? String.format(java.util.Locale.ROOT, "%.3f", d) : String.valueOf(c));
        rows.add(r);
    }

    String markdown() {
        StringBuilder b = new StringBuilder("| " + String.join(" | ", header) + " |\n|");
        header.forEach(h -> b.append(" --- |"));
        b.append('\n');
        for (List<String> r : rows) b.append("| ").append(String.join(" | ", r)).append(" |\n");
        return b.toString();
    }
}
