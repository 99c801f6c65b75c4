package io.stoker.runtime.graph;

import io.stoker.runtime.actor.ActorHandle;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Proves a graph's schedules deadlock-free, or names the cycle that would hang it.
 *
 * <p>Every channel holds at least {@code maxInFlight} values and every task is an ancestor of an output, so a write
 * never waits; a task only waits for (a) its upstream values, (b) the task before it on the same actor, and (c) for a
 * collective, every other rank reaching the same collective. The graph of these "waits for" edges, with the ranks of
 * each collective merged into one node, must be acyclic; then some task can always run, in every execution and with
 * executions pipelined. A cycle means the schedule would hang and is rejected.
 *
 * <p>NCCL: a value sent by NCCL send/recv ({@code TensorTransport.nccl}) is a wait of its reader on its writer
 * like any data edge, and the message names it as an NCCL send/recv. So a graph whose ranks would issue collectives
 * and sends/receives of one communicator in orders that wait on each other (rank 0: allreduce, then send; rank 1:
 * receive, then allreduce) fails here. Among the orders that pass, {@code NcclCommunicator} gives every matched call
 * and every transfer a ticket of one order per communicator, so all ranks issue their NCCL operations in the same
 * order at run time.
 */
final class ScheduleCheck {
    /** How a wait over an NCCL send/recv edge reads; such an edge is issued in the communicator's one order. */
    private static final String NCCL_EDGE = "receives by NCCL send/recv";

    private ScheduleCheck() {
    }

    /** An edge {@code from -> to} meaning "to waits for from", with why. */
    private record Wait(Node<?> from, Node<?> to, String why) {
    }

    /**
     * @param tasks     every task node (actor tasks, placed functions, collective ranks)
     * @param placement the actor each task runs on
     * @param order     each actor's tasks in schedule order
     */
    static void check(List<Node<?>> tasks, Map<Node<?>, ActorHandle<?>> placement,
                      Map<ActorHandle<?>, List<Node<?>>> order, Map<Node<?>, List<Node<?>>> taskSources) {
        // Merge the ranks of each collective into one representative node.
        Map<Node<?>, Node<?>> rep = new HashMap<>();
        for (Node<?> t : tasks) {
            rep.put(t, t.collective != null ? t.collective.participants.get(0) : t);
        }
        Map<Node<?>, List<Wait>> out = new LinkedHashMap<>();
        for (Node<?> t : tasks) {
            out.computeIfAbsent(rep.get(t), k -> new ArrayList<>());
        }
        for (Node<?> t : tasks) {
            for (Node<?> s : taskSources.get(t)) {
                if (s.kind != NodeKind.INPUT) {
                    add(out, rep, s, t, s.transport != null && s.transport.communicator() != null
                            ? NCCL_EDGE + " over '" + s.transport.communicator().name() + "' from" : "waits for");
                }
            }
        }
        for (Map.Entry<ActorHandle<?>, List<Node<?>>> e : order.entrySet()) {
            List<Node<?>> seq = e.getValue();
            for (int i = 1; i < seq.size(); i++) {
                add(out, rep, seq.get(i - 1), seq.get(i), "runs after, on actor '" + e.getKey().name() + "',");
            }
        }
        // Depth-first search for a cycle.
        Map<Node<?>, Integer> state = new HashMap<>(); // 1 = on stack, 2 = done
        List<Wait> stack = new ArrayList<>();
        for (Node<?> start : out.keySet()) {
            if (!state.containsKey(start)) {
                List<Wait> cycle = dfs(start, out, state, stack);
                if (cycle != null) {
                    throw new GraphValidationException(describe(cycle));
                }
            }
        }
    }

    private static void add(Map<Node<?>, List<Wait>> out, Map<Node<?>, Node<?>> rep, Node<?> from, Node<?> to,
                            String why) {
        Node<?> f = rep.get(from);
        Node<?> t = rep.get(to);
        if (f == t) {
            return;
        }
        out.get(f).add(new Wait(from, to, why));
    }

    private static List<Wait> dfs(Node<?> n, Map<Node<?>, List<Wait>> out, Map<Node<?>, Integer> state,
                                  List<Wait> stack) {
        state.put(n, 1);
        for (Wait w : out.get(n)) {
            Node<?> next = repOf(w.to);
            Integer s = state.get(next);
            if (s == null) {
                stack.add(w);
                List<Wait> c = dfs(next, out, state, stack);
                if (c != null) {
                    return c;
                }
                stack.remove(stack.size() - 1);
            } else if (s == 1) {
                List<Wait> cycle = new ArrayList<>();
                int from = stack.size();
                for (int i = stack.size() - 1; i >= 0; i--) {
                    if (repOf(stack.get(i).from) == next) {
                        from = i;
                        break;
                    }
                }
                cycle.addAll(stack.subList(from, stack.size()));
                cycle.add(w);
                return cycle;
            }
        }
        state.put(n, 2);
        return null;
    }

    private static Node<?> repOf(Node<?> n) {
        return n.collective != null ? n.collective.participants.get(0) : n;
    }

    private static String describe(List<Wait> cycle) {
        boolean collective = cycle.stream().anyMatch(w -> w.from.collective != null || w.to.collective != null);
        boolean nccl = cycle.stream().anyMatch(w -> w.why.startsWith(NCCL_EDGE));
        boolean scheduleOnly = cycle.stream().anyMatch(w -> w.why.startsWith("runs after"));
        StringBuilder sb = new StringBuilder();
        if (!scheduleOnly && !collective && !nccl) {
            sb.append("cycle in the graph: ");
        } else if (nccl) {
            sb.append("schedule deadlock: ").append(collective ? "collectives and NCCL sends/receives" : "NCCL"
                    + " sends/receives").append(" are issued in an order that makes their ranks wait for each other: ");
        } else if (collective) {
            sb.append("schedule deadlock: collectives are entered in an order that makes their ranks wait for each"
                    + " other: ");
        } else {
            sb.append("schedule deadlock: tasks on the same actor run in bind order, and that order waits in a"
                    + " circle: ");
        }
        for (Wait w : cycle) {
            sb.append(w.to).append(' ').append(w.why).append(' ').append(w.from).append("; ");
        }
        sb.setLength(sb.length() - 2);
        sb.append(nccl ? ". Every rank must issue the same collectives and NCCL sends/receives in the same order"
                + " (each actor's bind order, and after(...) dependencies)."
                : collective ? ". Every member must enter the same collectives in the same bind order."
                : scheduleOnly ? ". Bind the tasks of each actor in an order consistent with the data flow."
                : ". Remove the dependency that closes the cycle.");
        return sb.toString();
    }
}
