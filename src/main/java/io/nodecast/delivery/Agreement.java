package io.nodecast.delivery;

import io.nodecast.transport.Transport;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The step's last word, the same on every rank: the leaders exchange their failures (a fixed record each), rank 0
 * sends the list to every rank. This is where the ranks that are not leaders wait for their node. A non-leader has
 * no work that can fail, so only leaders' failures count. The records are only exchanged when some leader failed:
 * at 10,000 nodes the exchange is 10 MB per leader, not a cost for every step.
 */
final class Agreement {
    /** One leader's failure as it travels: host, rank, code and a message cut to fit. */
    static final int RECORD = 1024;
    /** The list rank 0 sends to every rank: a few dozen failed nodes, the rest summarised in a count. */
    static final int VERDICT = 64 << 10;

    private Agreement() {}

    static List<NodeFailure> reach(Transport transport, Optional<NodeFailure> mine) {
        byte[] verdict = new byte[0];
        if (transport.topology().leader() && transport.anyLeader(mine.isPresent())) {
            byte[] all = transport.gatherFromLeaders(Wire.failures(mine.map(List::of).orElse(List.of()), RECORD), RECORD);
            if (transport.topology().root()) {
                List<NodeFailure> failures = new ArrayList<>();
                for (int i = 0; i < transport.topology().nodes(); i++) {
                    failures.addAll(Wire.failures(java.util.Arrays.copyOfRange(all, i * RECORD, (i + 1) * RECORD)));
                }
                verdict = Wire.failures(failures, VERDICT);
            }
        } else if (transport.topology().root()) {
            verdict = Wire.failures(List.of(), VERDICT);
        }
        return Wire.failures(transport.shareWithAll(verdict, VERDICT));
    }
}
