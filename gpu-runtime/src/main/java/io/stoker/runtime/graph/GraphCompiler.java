package io.stoker.runtime.graph;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.channel.Channel;
import io.stoker.runtime.channel.ChannelReader;
import io.stoker.runtime.channel.ChannelWriter;
import io.stoker.runtime.channel.LocalChannel;
import io.stoker.runtime.channel.RingChannel;
import io.stoker.runtime.internal.ActorAccess;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Turns a {@link GraphBuilder}'s nodes into per-actor programs over pre-allocated channels: validate, place
 * functions, order each actor's tasks, prove the schedules deadlock-free, allocate every channel, install.
 */
final class GraphCompiler {
    private GraphCompiler() {
    }

    static <I, O> CompiledGraph<I, O> compile(GraphBuilder b, List<Node<?>> outputs, GraphOptions options,
                                              boolean multi) {
        List<Node<?>> nodes = b.nodes();
        String graphName = options.name() != null ? options.name()
                : b.name() != null ? b.name() : "graph-" + b.runtime().nextGraphId();

        // 1. Exactly one input.
        List<Node<?>> inputs = nodes.stream().filter(n -> n.kind == NodeKind.INPUT).collect(Collectors.toList());
        if (inputs.isEmpty()) {
            throw new GraphValidationException("graph '" + graphName + "' has no input node: call builder.input() and"
                    + " bind the first task to it");
        }
        if (inputs.size() > 1) {
            throw new GraphValidationException("graph '" + graphName + "' has " + inputs.size() + " input nodes "
                    + inputs + "; a graph takes exactly one input: declare one InputNode and use arg(i) or field(name)"
                    + " for its parts");
        }
        Node<?> input = inputs.get(0);

        // 2. Outputs must be (parts of) tasks.
        for (int i = 0; i < outputs.size(); i++) {
            Node<?> o = outputs.get(i);
            b.checkOwn(o);
            if (GraphLayout.base(o).kind == NodeKind.INPUT) {
                throw new GraphValidationException("graph '" + graphName + "' output " + i + " " + o
                        + " is the input itself; put at least one task between input and output");
            }
            if (GraphLayout.base(o).kind == NodeKind.CONSTANT) {
                throw new GraphValidationException("graph '" + graphName + "' output " + i + " " + o
                        + " is a constant; outputs must be produced by tasks");
            }
        }

        // 3. Every task has an input and a live actor.
        List<Node<?>> tasks = nodes.stream().filter(GraphCompiler::isTask).collect(Collectors.toList());
        Map<Node<?>, List<Node<?>>> sources = new IdentityHashMap<>();
        for (Node<?> t : tasks) {
            boolean receives = t.remoteEdge != null && !t.remoteSends;
            if (t.upstream.isEmpty() && !receives) {
                throw new GraphValidationException("graph '" + graphName + "': node " + t + " has no input; bind it to"
                        + " the graph's InputNode or to an upstream node");
            }
            for (Node<?> c : t.controlDeps) {
                if (GraphLayout.base(c).kind == NodeKind.CONSTANT) {
                    throw new GraphValidationException("graph '" + graphName + "': node " + t + " is ordered after"
                            + " constant " + c + ", which never runs; order it after a task or the input instead");
                }
            }
            if (t.actor != null && !t.actor.isAlive()) {
                throw new GraphValidationException("graph '" + graphName + "': node " + t + " is bound to actor '"
                        + t.actor.name() + "', which was already torn down (" + t.actor.state()
                        + "); create a new actor and bind to it");
            }
            Set<Node<?>> s = new LinkedHashSet<>();
            if (receives) {
                s.add(input); // each execution takes the next array: the input starts it
            }
            t.upstream.forEach(u -> s.add(GraphLayout.base(u)));
            t.controlDeps.forEach(u -> s.add(GraphLayout.base(u)));
            s.removeIf(u -> u.kind == NodeKind.CONSTANT); // bound at compile time: no channel, nothing to wait for
            if (s.isEmpty()) {
                throw new GraphValidationException("graph '" + graphName + "': node " + t + " takes only constants,"
                        + " so nothing would start it; bind at least one argument to the input or an upstream node,"
                        + " or order it with after(input)");
            }
            sources.put(t, new ArrayList<>(s));
        }

        // 4. No cycles through data or ordering dependencies.
        checkAcyclic(graphName, tasks, sources);

        // 5. No leaves: every task must feed an output (a collective's ranks count as one).
        Set<Node<?>> live = new HashSet<>();
        ArrayList<Node<?>> stack = new ArrayList<>();
        outputs.forEach(o -> stack.add(GraphLayout.base(o)));
        while (!stack.isEmpty()) {
            Node<?> n = stack.remove(stack.size() - 1);
            if (live.add(n) && sources.containsKey(n)) {
                stack.addAll(sources.get(n));
                if (n.collective != null) {
                    stack.addAll(n.collective.participants); // every rank must take part for any rank's result
                }
            }
        }
        for (Node<?> t : tasks) {
            if (!live.contains(t)) {
                throw new GraphValidationException("graph '" + graphName + "': node " + t + " is a leaf: its result"
                        + " never reaches an output. Add it to the outputs (compileMulti) or remove it");
            }
        }

        // 5b. Inputs a collective node takes ownership of (device memory) must have no other reader; so must values
        // moved over a tensor transport.
        checkOwnedInputs(graphName, tasks, outputs);
        checkTransports(graphName, tasks, outputs);
        checkSends(graphName, tasks, outputs);

        // 6. Place functions; order each actor's tasks by bind order.
        Map<Node<?>, ActorHandle<?>> placement = place(b, tasks, sources);
        Map<ActorHandle<?>, List<Node<?>>> schedules = new LinkedHashMap<>();
        for (Node<?> t : tasks) {
            schedules.computeIfAbsent(placement.get(t), k -> new ArrayList<>()).add(t);
        }

        // 7. Prove the schedules deadlock-free.
        ScheduleCheck.check(tasks, placement, schedules, sources);

        // 8. Place GPU channels: each tensor-transport edge gets a kind from where its two actors live.
        for (Node<?> t : tasks) {
            if (t.transport != null) {
                for (Node<?> u : tasks) {
                    if (u.upstream.contains(t)) {
                        GpuChannels.check(graphName, t, placement.get(t), placement.get(u));
                    }
                }
            }
        }

        // 9. Cross-process edges: only CUDA IPC (another process of this host) is built; set up each end on its
        // actor's thread (the sending side waits for the receiving side's rendezvous).
        List<Node<?>> remote = tasks.stream().filter(t -> t.remoteEdge != null).collect(Collectors.toList());
        for (Node<?> t : remote) {
            RemoteEdges.check(graphName, t, placement.get(t));
        }
        Map<Node<?>, RemoteEnd> ends = remote.isEmpty() ? Map.of() : RemoteEdges.setUp(graphName, remote, placement);

        GraphLayout layout = new GraphLayout(input, tasks, placement, schedules, sources, List.copyOf(outputs));
        try {
            return build(graphName, b, layout, options, multi, ends);
        } catch (RuntimeException e) {
            if (!ends.isEmpty()) {
                RemoteEdges.release(ends, placement);
            }
            throw e;
        }
    }

    /** An array sent over a cross-process edge is moved (freed once copied): the send must be its only reader. */
    private static void checkSends(String graphName, List<Node<?>> tasks, List<Node<?>> outputs) {
        for (Node<?> t : tasks) {
            if (t.remoteEdge == null || !t.remoteSends) {
                continue;
            }
            Node<?> v = t.upstream.get(0);
            List<String> others = new ArrayList<>();
            for (Node<?> u : tasks) {
                if (u != t && u.upstream.stream().anyMatch(a -> GraphLayout.base(a) == v)) {
                    others.add(u.toString());
                }
            }
            for (int i = 0; i < outputs.size(); i++) {
                if (GraphLayout.base(outputs.get(i)) == v) {
                    others.add("output " + i);
                }
            }
            if (!others.isEmpty()) {
                throw new GraphValidationException("graph '" + graphName + "': " + t + " moves " + v + " to another"
                        + " process (the array is freed here once copied), but " + String.join(", ", others)
                        + " also read" + (others.size() == 1 ? "s" : "") + " it; send a copy, or read it before"
                        + " sending in the task that makes it");
            }
        }
    }

    /**
     * A collective node over a communicator that {@linkplain io.stoker.runtime.comm.Communicator#consumesNodeInputs
     * consumes its input} reuses or frees that value's memory, so no other task and no output may read it.
     */
    private static void checkOwnedInputs(String graphName, List<Node<?>> tasks, List<Node<?>> outputs) {
        for (Node<?> t : tasks) {
            if (t.collective == null || !t.collective.communicator.consumesNodeInputs()) {
                continue;
            }
            Node<?> in = GraphLayout.base(t.upstream.get(0));
            List<String> others = new ArrayList<>();
            for (Node<?> u : tasks) {
                if (u != t && u.upstream.stream().anyMatch(a -> GraphLayout.base(a) == in)) {
                    others.add(u.toString());
                }
            }
            for (int i = 0; i < outputs.size(); i++) {
                if (GraphLayout.base(outputs.get(i)) == in) {
                    others.add("output " + i);
                }
            }
            if (!others.isEmpty()) {
                throw new GraphValidationException("graph '" + graphName + "': " + t + " over communicator '"
                        + t.collective.communicator.name() + "' takes ownership of its input " + in
                        + " (its device memory is reduced in place or freed), but " + String.join(", ", others)
                        + " also read" + (others.size() == 1 ? "s" : "") + " it; give the other reader its own copy");
            }
        }
    }

    /** A value with a tensor transport is moved to its reader: exactly one reading task, read whole, not an output. */
    private static void checkTransports(String graphName, List<Node<?>> tasks, List<Node<?>> outputs) {
        for (Node<?> t : tasks) {
            if (t.transport == null) {
                continue;
            }
            List<Node<?>> readers = new ArrayList<>();
            for (Node<?> u : tasks) {
                for (Node<?> a : u.upstream) {
                    if (GraphLayout.base(a) == t) {
                        if (a != t) {
                            throw new GraphValidationException("graph '" + graphName + "': " + u + " reads " + a
                                    + ", a part of " + t + ", whose value travels as device memory; read it whole");
                        }
                        if (!readers.contains(u)) {
                            readers.add(u);
                        }
                    }
                }
            }
            boolean output = outputs.stream().anyMatch(o -> GraphLayout.base(o) == t);
            if (readers.size() != 1 || output) {
                throw new GraphValidationException("graph '" + graphName + "': " + t + " travels as device memory ("
                        + t.transport + "), which moves it to its reader, but it has " + readers.size() + " reading"
                        + " task(s) " + readers + (output ? " and is an output" : "") + "; give it exactly one reading"
                        + " task and make that task's result the output");
            }
        }
    }

    private static boolean isTask(Node<?> n) {
        return n.kind == NodeKind.ACTOR_TASK || n.kind == NodeKind.FUNCTION || n.kind == NodeKind.COLLECTIVE;
    }

    private static void checkAcyclic(String graphName, List<Node<?>> tasks, Map<Node<?>, List<Node<?>>> sources) {
        Map<Node<?>, Integer> state = new IdentityHashMap<>();
        for (Node<?> t : tasks) {
            List<Node<?>> path = new ArrayList<>();
            if (cycleFrom(t, sources, state, path)) {
                StringBuilder sb = new StringBuilder();
                for (Node<?> n : path) {
                    sb.append(n).append(" -> ");
                }
                sb.setLength(sb.length() - 4);
                throw new GraphValidationException("graph '" + graphName + "' has a cycle: " + sb
                        + " (each node needs the one after it); remove the after(...) dependency that closes it");
            }
        }
    }

    private static boolean cycleFrom(Node<?> n, Map<Node<?>, List<Node<?>>> sources, Map<Node<?>, Integer> state,
                                     List<Node<?>> path) {
        Integer s = state.get(n);
        if (s != null) {
            if (s == 1) {
                int from = path.indexOf(n);
                List<Node<?>> cycle = new ArrayList<>(path.subList(from, path.size()));
                cycle.add(n);
                path.clear();
                path.addAll(cycle);
                return true;
            }
            return false;
        }
        state.put(n, 1);
        path.add(n);
        for (Node<?> u : sources.getOrDefault(n, List.of())) {
            if (cycleFrom(u, sources, state, path)) {
                return true;
            }
        }
        path.remove(path.size() - 1);
        state.put(n, 2);
        return false;
    }

    /** Actor tasks run on their actor; a function runs on its first upstream task's actor, else on its first actor
     * consumer's, else on the runtime's shared function actor. */
    private static Map<Node<?>, ActorHandle<?>> place(GraphBuilder b, List<Node<?>> tasks,
                                                      Map<Node<?>, List<Node<?>>> sources) {
        Map<Node<?>, ActorHandle<?>> placement = new IdentityHashMap<>();
        for (Node<?> t : tasks) {
            if (t.actor != null) {
                placement.put(t, t.actor);
            }
        }
        for (Node<?> t : tasks) {
            if (t.kind != NodeKind.FUNCTION) {
                continue;
            }
            ActorHandle<?> host = null;
            for (Node<?> s : sources.get(t)) {
                if (placement.containsKey(s)) {
                    host = placement.get(s);
                    break;
                }
            }
            if (host == null) {
                for (Node<?> c : tasks) {
                    if (c.actor != null && sources.get(c).contains(t)) {
                        host = c.actor;
                        break;
                    }
                }
            }
            if (host == null) {
                host = b.runtime().functionActor();
            }
            placement.put(t, host);
        }
        return placement;
    }

    @SuppressWarnings("unchecked")
    private static <I, O> CompiledGraph<I, O> build(String name, GraphBuilder b, GraphLayout layout,
                                                    GraphOptions options, boolean multi,
                                                    Map<Node<?>, RemoteEnd> ends) {
        List<Runnable> claims = CommunicatorClaims.claim(name, layout.tasks());
        CompiledGraph<I, O> graph;
        try {
            graph = new CompiledGraph<>(name, b.runtime(), options, layout, multi);
        } catch (RuntimeException e) {
            claims.forEach(Runnable::run);
            throw e;
        }
        int capacity = graph.results().capacity();

        Map<Node<?>, List<ChannelWriter<Object>>> writers = new HashMap<>();
        Map<Node<?>, List<String>> writerLabels = new HashMap<>();
        Map<Node<?>, List<ChannelReader<Object>>> readers = new HashMap<>();
        List<RingChannel<Object>> inputChannels = new ArrayList<>();
        List<Channel<Object>> all = new ArrayList<>();
        for (Node<?> t : layout.tasks()) {
            ActorHandle<?> consumer = layout.placement().get(t);
            for (Node<?> s : layout.sources().get(t)) {
                String label = s.label() + " -> " + t.label();
                Channel<Object> ch;
                if (s.kind == NodeKind.INPUT) {
                    RingChannel<Object> r = new RingChannel<>(label, capacity, ActorAccess.get().wakeHook(consumer));
                    inputChannels.add(r);
                    ch = r;
                } else if (layout.placement().get(s) == consumer) {
                    ch = new LocalChannel<>(label); // a GPU value on its own actor: a hand-over, in stream order
                } else if (s.transport != null) {
                    ActorHandle<?> producer = layout.placement().get(s);
                    io.stoker.runtime.channel.GpuChannelKind k = GpuChannels.check(name, s, producer, consumer);
                    ch = GpuChannels.create(label, s, k, producer, consumer, capacity,
                            ActorAccess.get().wakeHook(consumer));
                } else {
                    ch = new RingChannel<>(label, capacity, ActorAccess.get().wakeHook(consumer));
                }
                all.add(ch);
                writers.computeIfAbsent(s, k -> new ArrayList<>()).add(ch);
                writerLabels.computeIfAbsent(s, k -> new ArrayList<>()).add(label);
                readers.computeIfAbsent(t, k -> new ArrayList<>()).add(ch);
            }
            if (t.remoteEdge != null && !t.remoteSends) {
                readers.get(t).add((RemoteReceiver) ends.get(t)); // after the input that starts the execution
            }
        }

        Map<Node<?>, List<Integer>> resultIdx = new HashMap<>();
        Map<Node<?>, List<Projection>> resultProj = new HashMap<>();
        for (int i = 0; i < layout.outputs().size(); i++) {
            Node<?> o = layout.outputs().get(i);
            resultIdx.computeIfAbsent(GraphLayout.base(o), k -> new ArrayList<>()).add(i);
            resultProj.computeIfAbsent(GraphLayout.base(o), k -> new ArrayList<>()).add(GraphLayout.projection(o));
        }

        List<GraphProgram> programs = new ArrayList<>();
        try {
            for (Map.Entry<ActorHandle<?>, List<Node<?>>> e : layout.schedules().entrySet()) {
                List<Node<?>> seq = e.getValue();
                TaskOp[] ops = new TaskOp[seq.size()];
                for (int k = 0; k < ops.length; k++) {
                    ops[k] = op(name, seq.get(k), e.getKey(), layout, readers, writers, writerLabels, resultIdx,
                            resultProj, ends.get(seq.get(k)));
                }
                programs.add(new GraphProgram(graph, e.getKey(), ops, graph.results(), options.timings(),
                        options.traceCapacity()));
            }
        } catch (RuntimeException e) {
            claims.forEach(Runnable::run);
            throw e;
        }
        graph.start(programs, inputChannels.toArray(new RingChannel[0]), all, claims);
        return graph;
    }

    @SuppressWarnings("unchecked")
    private static TaskOp op(String graphName, Node<?> t, ActorHandle<?> host, GraphLayout layout,
                             Map<Node<?>, List<ChannelReader<Object>>> readers,
                             Map<Node<?>, List<ChannelWriter<Object>>> writers, Map<Node<?>, List<String>> writerLabels,
                             Map<Node<?>, List<Integer>> resultIdx, Map<Node<?>, List<Projection>> resultProj,
                             RemoteEnd remoteEnd) {
        List<Node<?>> srcs = layout.sources().get(t);
        if (remoteEnd instanceof RemoteReceiver r) {
            return remoteReceiveOp(t, host, layout, readers, writers, writerLabels, resultIdx, resultProj, r);
        }
        int[] argSource = new int[t.upstream.size()];
        Projection[] argProjection = new Projection[t.upstream.size()];
        Object[] argConstant = new Object[t.upstream.size()];
        for (int a = 0; a < argSource.length; a++) {
            Node<?> arg = t.upstream.get(a);
            Node<?> base = GraphLayout.base(arg);
            Projection p = GraphLayout.projection(arg);
            if (base.kind == NodeKind.CONSTANT) {
                argSource[a] = -1;
                try {
                    argConstant[a] = p == null ? base.constant : p.apply(base.constant);
                } catch (RuntimeException e) {
                    throw new GraphValidationException("graph '" + graphName + "': argument " + a + " of " + t + " ("
                            + arg + "): " + e.getMessage(), e);
                }
                continue;
            }
            argSource[a] = srcs.indexOf(base);
            argProjection[a] = p;
        }
        String[] sourceLabels = srcs.stream().map(Node::label).toArray(String[]::new);
        Invoker invoker = t.invoker;
        if (remoteEnd instanceof RemoteSender send) {
            invoker = (a, args) -> send.send(args[0]);
        }
        return taskOp(t, host, readers.get(t), sourceLabels, argSource, argProjection, argConstant, invoker, writers,
                writerLabels, resultIdx, resultProj, remoteEnd);
    }

    /** A receiveFrom task: sources are the graph input (its start) and the edge; its one argument is the array. */
    private static TaskOp remoteReceiveOp(Node<?> t, ActorHandle<?> host, GraphLayout layout,
                                          Map<Node<?>, List<ChannelReader<Object>>> readers,
                                          Map<Node<?>, List<ChannelWriter<Object>>> writers,
                                          Map<Node<?>, List<String>> writerLabels,
                                          Map<Node<?>, List<Integer>> resultIdx,
                                          Map<Node<?>, List<Projection>> resultProj, RemoteReceiver end) {
        List<String> labels = new ArrayList<>();
        layout.sources().get(t).forEach(s -> labels.add(s.label()));
        labels.add("receiveFrom[" + t.remoteEdge.name() + "]");
        int edgeIndex = labels.size() - 1;
        return taskOp(t, host, readers.get(t), labels.toArray(new String[0]), new int[] {edgeIndex},
                new Projection[1], new Object[1], (a, args) -> args[0], writers, writerLabels, resultIdx, resultProj,
                end);
    }

    @SuppressWarnings("unchecked")
    private static TaskOp taskOp(Node<?> t, ActorHandle<?> host, List<ChannelReader<Object>> srcReaders,
                                 String[] sourceLabels, int[] argSource, Projection[] argProjection,
                                 Object[] argConstant, Invoker invoker,
                                 Map<Node<?>, List<ChannelWriter<Object>>> writers,
                                 Map<Node<?>, List<String>> writerLabels, Map<Node<?>, List<Integer>> resultIdx,
                                 Map<Node<?>, List<Projection>> resultProj, RemoteEnd remoteEnd) {
        List<ChannelWriter<Object>> outs = writers.getOrDefault(t, List.of());
        List<Integer> ri = resultIdx.getOrDefault(t, List.of());
        List<Projection> rp = resultProj.getOrDefault(t, List.of());
        return new TaskOp(t.id, t.label(), host.name(), t.method,
                srcReaders.toArray(new ChannelReader[0]), sourceLabels, argSource, argProjection, argConstant,
                invoker,
                t.collective, t.rank, outs.toArray(new ChannelWriter[0]),
                writerLabels.getOrDefault(t, List.of()).toArray(new String[0]),
                ri.stream().mapToInt(Integer::intValue).toArray(), rp.toArray(new Projection[0]), remoteEnd);
    }
}
