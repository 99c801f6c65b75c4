package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorMethod0;
import io.stoker.runtime.actor.ActorMethod1;
import io.stoker.runtime.actor.ActorMethod2;
import io.stoker.runtime.actor.ActorMethod3;
import io.stoker.runtime.actor.ActorMethodN;
import io.stoker.runtime.actor.MethodNames;
import io.stoker.runtime.comm.CollectiveKind;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.ReduceOp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Declares a static graph of actor method calls, then compiles it.
 *
 * <pre>{@code
 * GraphBuilder g = GraphBuilder.on(runtime);
 * InputNode<String> prompt = g.input();
 * Node<int[]> ids = g.bind(tokenizer, Tokenizer::encode, prompt);
 * Node<int[]> out = g.bind(model, Model::generate, ids);
 * CompiledGraph<String, int[]> graph = g.compile(out);
 * int[] tokens = graph.execute("hello").get();
 * }</pre>
 *
 * <p>Tasks bound to the same actor run in bind order, once per execution. Single-threaded: build on one thread.
 */
public final class GraphBuilder {
    private final StokerRuntime runtime;
    private final String name;
    final List<Node<?>> nodes = new ArrayList<>();
    private int collectives;

    private GraphBuilder(StokerRuntime runtime, String name) {
        this.runtime = Objects.requireNonNull(runtime, "runtime");
        this.name = name;
    }

    /** A builder for a graph on {@code runtime}'s actors. */
    public static GraphBuilder on(StokerRuntime runtime) {
        return new GraphBuilder(runtime, null);
    }

    /** A builder for a named graph (the name appears in errors, metrics and traces). */
    public static GraphBuilder on(StokerRuntime runtime, String name) {
        return new GraphBuilder(runtime, name);
    }

    public StokerRuntime runtime() {
        return runtime;
    }

    /** @return the name given at creation, or null */
    public String name() {
        return name;
    }

    /** @return every node made so far, in bind order */
    public List<Node<?>> nodes() {
        return List.copyOf(nodes);
    }

    // ------------------------------------------------------------------------------------------ input

    /** Declares the graph's input. A graph takes exactly one; use {@link InputNode#arg}/{@link InputNode#field} for parts. */
    public <I> InputNode<I> input() {
        InputNode<I> n = new InputNode<>(this, nodes.size());
        nodes.add(n);
        return n;
    }

    /** Typed form of {@link #input()}. */
    public <I> InputNode<I> input(Class<I> type) {
        return input();
    }

    // ------------------------------------------------------------------------------------------ constants

    /**
     * A fixed argument: pass the returned node to {@code bind} or {@code function} like any other node. The value is
     * bound into the task's arguments at compile time (no task, no channel) and passed to every execution as is, so
     * it should be immutable. Use it instead of a capturing lambda, which would show up as "lambda" in labels and
     * errors: {@code g.bind(model, Model::generate, prompt, g.constant(0.7))} is labelled {@code model.generate}.
     * The node's own label is {@code "const 0.7"}.
     */
    public <T> Node<T> constant(T value) {
        Node<T> n = new Node<>(this, nodes.size(), NodeKind.CONSTANT, List.of(), null, null, null, null, -1, null);
        n.constant = value;
        nodes.add(n);
        return n;
    }

    /** Like {@link #constant(Object)}, labelled {@code name} (for values without a readable {@code toString}). */
    public <T> Node<T> constant(String name, T value) {
        Objects.requireNonNull(name, "name");
        return constant(value).named(name);
    }

    // ------------------------------------------------------------------------------------------ actor tasks

    public <A, R> Node<R> bind(ActorHandle<A> actor, ActorMethod0<A, R> m) {
        return task(actor, MethodNames.of(m, "lambda"), (a, args) -> m.apply(cast(a)), List.of());
    }

    public <A, T1, R> Node<R> bind(ActorHandle<A> actor, ActorMethod1<A, T1, R> m, Node<? extends T1> a1) {
        return task(actor, MethodNames.of(m, "lambda"), (a, args) -> m.apply(cast(a), cast(args[0])), List.of(a1));
    }

    public <A, T1, T2, R> Node<R> bind(ActorHandle<A> actor, ActorMethod2<A, T1, T2, R> m, Node<? extends T1> a1,
                                       Node<? extends T2> a2) {
        return task(actor, MethodNames.of(m, "lambda"), (a, args) -> m.apply(cast(a), cast(args[0]), cast(args[1])),
                List.of(a1, a2));
    }

    public <A, T1, T2, T3, R> Node<R> bind(ActorHandle<A> actor, ActorMethod3<A, T1, T2, T3, R> m,
                                           Node<? extends T1> a1, Node<? extends T2> a2, Node<? extends T3> a3) {
        return task(actor, MethodNames.of(m, "lambda"),
                (a, args) -> m.apply(cast(a), cast(args[0]), cast(args[1]), cast(args[2])), List.of(a1, a2, a3));
    }

    /** Binds a method taking its arguments as an array; {@code methodName} labels it. */
    public <A, R> Node<R> bindN(ActorHandle<A> actor, String methodName, ActorMethodN<A, R> m, List<? extends Node<?>> args) {
        return task(actor, methodName, (a, xs) -> m.apply(cast(a), xs), List.copyOf(args));
    }

    private <R> Node<R> task(ActorHandle<?> actor, String method, Invoker invoker, List<? extends Node<?>> args) {
        Objects.requireNonNull(actor, "actor");
        args.forEach(this::checkOwn);
        Node<R> n = new Node<>(this, nodes.size(), NodeKind.ACTOR_TASK, new ArrayList<>(args), actor, invoker, method,
                null, -1, null);
        nodes.add(n);
        return n;
    }

    // ------------------------------------------------------------------------------------------ functions

    /** A stateless function node; the compiler places it on the actor of its first upstream task. */
    public <T1, R> Node<R> function(Function1<T1, R> f, Node<? extends T1> a1) {
        return function(MethodNames.of(f, "function"), (a, args) -> f.apply(cast(args[0])), List.of(a1));
    }

    public <T1, T2, R> Node<R> function(Function2<T1, T2, R> f, Node<? extends T1> a1, Node<? extends T2> a2) {
        return function(MethodNames.of(f, "function"), (a, args) -> f.apply(cast(args[0]), cast(args[1])),
                List.of(a1, a2));
    }

    public <T1, T2, T3, R> Node<R> function(Function3<T1, T2, T3, R> f, Node<? extends T1> a1, Node<? extends T2> a2,
                                            Node<? extends T3> a3) {
        return function(MethodNames.of(f, "function"),
                (a, args) -> f.apply(cast(args[0]), cast(args[1]), cast(args[2])), List.of(a1, a2, a3));
    }

    /** A function over any number of upstream values, given as an array in order. */
    public <R> Node<R> functionN(String functionName, FunctionN<R> f, List<? extends Node<?>> args) {
        return function(functionName, (a, xs) -> f.apply(xs), List.copyOf(args));
    }

    private <R> Node<R> function(String fname, Invoker invoker, List<? extends Node<?>> args) {
        args.forEach(this::checkOwn);
        Node<R> n = new Node<>(this, nodes.size(), NodeKind.FUNCTION, new ArrayList<>(args), null, invoker, fname,
                null, -1, null);
        nodes.add(n);
        return n;
    }

    // ------------------------------------------------------------------------------------------ collectives

    /** Element-wise reduction across the ranks; one output node per input, on the same actor. */
    public <T> List<Node<T>> allreduce(Communicator comm, ReduceOp op, List<? extends Node<T>> inputs) {
        return collective(comm, CollectiveKind.ALLREDUCE, op, inputs);
    }

    /** Concatenation of all ranks' arrays in rank order; one output node per input. */
    public <T> List<Node<T>> allgather(Communicator comm, List<? extends Node<T>> inputs) {
        return collective(comm, CollectiveKind.ALLGATHER, ReduceOp.SUM, inputs);
    }

    /** Reduction split in world-size chunks; rank r's output is chunk r. */
    public <T> List<Node<T>> reducescatter(Communicator comm, ReduceOp op, List<? extends Node<T>> inputs) {
        return collective(comm, CollectiveKind.REDUCESCATTER, op, inputs);
    }

    private <T> List<Node<T>> collective(Communicator comm, CollectiveKind kind, ReduceOp op,
                                         List<? extends Node<T>> inputs) {
        Objects.requireNonNull(comm, "communicator");
        if (inputs.size() != comm.worldSize()) {
            throw new GraphValidationException(kind.label() + " over communicator '" + comm.name() + "' needs "
                    + comm.worldSize() + " inputs (one per rank) but got " + inputs.size());
        }
        CollectiveGroup group = new CollectiveGroup(collectives++, comm, kind, op);
        List<Node<T>> outs = new ArrayList<>();
        boolean[] seen = new boolean[comm.worldSize()];
        for (Node<T> in : inputs) {
            checkOwn(in);
            Node<?> base = in.kind == NodeKind.PROJECTION ? in.upstream.get(0) : in;
            ActorHandle<?> owner = base.actor;
            if (owner == null || base.kind == NodeKind.FUNCTION) {
                throw new GraphValidationException(kind.label() + " input " + in + " is not produced by an actor task;"
                        + " each input must come from a task on the rank's actor");
            }
            int rank = comm.rankOf(owner);
            if (rank < 0) {
                throw new GraphValidationException(kind.label() + " input " + in + " runs on actor '" + owner.name()
                        + "', which is not a member of communicator '" + comm.name() + "'");
            }
            if (seen[rank]) {
                throw new GraphValidationException(kind.label() + ": two inputs come from actor '" + owner.name()
                        + "' (rank " + rank + "); each rank contributes exactly one input");
            }
            seen[rank] = true;
            Node<T> n = new Node<>(this, nodes.size(), NodeKind.COLLECTIVE, List.of(in), owner, null, kind.label(),
                    group, rank, null);
            nodes.add(n);
            group.participants.add(n);
            outs.add(n);
        }
        return outs;
    }

    // ------------------------------------------------------------------------------------------ cross-process edges

    /**
     * Sends {@code value} (a {@link io.stoker.runtime.cuda.DeviceArray} made by a GPU actor's task) over the
     * cross-process edge {@code edge} to a graph of another process, which receives it with {@link #receiveFrom}. The
     * send runs on the value's actor after the value's task; it moves the array (frees it here once copied), so the
     * value must have no other reader and not be an output. Its own value, the bytes sent, is ready once the array has
     * landed in the receiver's memory: make it an output (or feed it to a task that is one).
     *
     * <p>Ordering: each edge is FIFO, and the k-th execution of the receiving graph gets the array sent by the k-th
     * execution of this one. Neither compiler sees the other process's graph, so the two graphs must not wait on each
     * other in a circle (B's result feeding A's input while A feeds B): that would hang where one graph cannot.
     * Compile fails unless the peer is another process on this host; the compile waits up to the edge's timeout for
     * the receiving graph to be compiled.
     *
     * @return a node (bytes sent) on the value's actor
     */
    public Node<Long> sendTo(Node<? extends io.stoker.runtime.cuda.DeviceArray> value, RemoteEdge edge) {
        checkOwn(value);
        Objects.requireNonNull(edge, "edge");
        if ((value.kind != NodeKind.ACTOR_TASK && value.kind != NodeKind.COLLECTIVE) || value.remoteEdge != null
                && value.remoteSends) {
            throw new GraphValidationException("sendTo(" + edge.name() + "): " + value + " is not a GPU actor task's"
                    + " result; send the DeviceArray returned by a task bound to a GPU actor");
        }
        Node<Long> n = new Node<>(this, nodes.size(), NodeKind.ACTOR_TASK, List.of(value), value.actor, null,
                "sendTo[" + edge.name() + "]", null, -1, null);
        n.remoteEdge = edge;
        n.remoteSends = true;
        nodes.add(n);
        return n;
    }

    /**
     * Receives, on GPU actor {@code reader}, the arrays another process's graph sends over {@code edge} with
     * {@link #sendTo}. Each execution of this graph takes the next array, in order: the node's value is a new
     * {@link io.stoker.runtime.cuda.DeviceArray} on the reader's device that the reading task owns (copied out of the
     * edge's slot, which goes back to the sender). The node starts with each execution (it reads the graph's input
     * only as a trigger); if the sender closed its end or its process died, the waiting execution fails naming the
     * edge. Compiling this graph creates the edge's slots and rendezvous file, which the sending graph's compile
     * waits for.
     *
     * @return a node on {@code reader} whose value is the array received
     */
    public Node<io.stoker.runtime.cuda.DeviceArray> receiveFrom(ActorHandle<?> reader, RemoteEdge edge) {
        Objects.requireNonNull(reader, "reader");
        Objects.requireNonNull(edge, "edge");
        Node<io.stoker.runtime.cuda.DeviceArray> n = new Node<>(this, nodes.size(), NodeKind.ACTOR_TASK, List.of(),
                reader, null, "receiveFrom[" + edge.name() + "]", null, -1, null);
        n.remoteEdge = edge;
        nodes.add(n);
        return n;
    }

    // ------------------------------------------------------------------------------------------ compile

    /** Compiles with default options; the graph's result is {@code output}'s value. */
    public <I, O> CompiledGraph<I, O> compile(Node<O> output) {
        return compile(output, GraphOptions.defaults());
    }

    /** Compiles; the graph's result is {@code output}'s value. */
    public <I, O> CompiledGraph<I, O> compile(Node<O> output, GraphOptions options) {
        return GraphCompiler.compile(this, List.of(output), options, false);
    }

    /** Compiles a multi-output graph: each execution yields one value per output node, as a list in that order. */
    public <I> CompiledGraph<I, List<Object>> compileMulti(GraphOptions options, Node<?>... outputs) {
        if (outputs.length == 0) {
            throw new GraphValidationException("compileMulti needs at least one output node");
        }
        return GraphCompiler.compile(this, Arrays.asList(outputs), options, true);
    }

    // ------------------------------------------------------------------------------------------ internals

    <U> Node<U> project(Node<?> source, Projection p) {
        checkOwn(source);
        Node<?> base = source;
        Projection full = p;
        if (source.kind == NodeKind.PROJECTION) {
            base = source.upstream.get(0);
            full = p.after(source.projection);
        }
        Node<U> n = new Node<>(this, nodes.size(), NodeKind.PROJECTION, List.of(base), null, null, null, null, -1, full);
        nodes.add(n);
        return n;
    }

    void checkOwn(Node<?> n) {
        Objects.requireNonNull(n, "node");
        if (n.builder != this) {
            throw new GraphValidationException("node " + n + " belongs to another graph builder; nodes cannot be shared"
                    + " between graphs");
        }
    }

    @SuppressWarnings("unchecked")
    private static <X> X cast(Object o) {
        return (X) o;
    }
}
