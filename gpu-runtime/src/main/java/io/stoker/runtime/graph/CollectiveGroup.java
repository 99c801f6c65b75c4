package io.stoker.runtime.graph;

import io.stoker.runtime.comm.CollectiveKind;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.ReduceOp;

import java.util.ArrayList;
import java.util.List;

/** One collective in a graph: its communicator, kind, reduction and the participant node of every rank. */
final class CollectiveGroup {
    final int id;
    final Communicator communicator;
    final CollectiveKind kind;
    final ReduceOp op;
    final List<Node<?>> participants = new ArrayList<>();

    CollectiveGroup(int id, Communicator communicator, CollectiveKind kind, ReduceOp op) {
        this.id = id;
        this.communicator = communicator;
        this.kind = kind;
        this.op = op;
    }

    String label() {
        return kind.label() + "#" + id + "(" + communicator.name() + (kind == CollectiveKind.ALLGATHER ? "" : ", " + op)
                + ")";
    }
}
