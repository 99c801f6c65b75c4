package io.stoker.runtime.graph;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorMethod1;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A value in a graph under construction: the input, an actor method's result, a function's result, a rank's
 * collective result, or a part of one of these. Nodes are made by a {@link GraphBuilder} and are only meaningful
 * inside it; the builder is single-threaded.
 *
 * @param <T> the type of value the node carries at execution time
 */
public class Node<T> {
    final GraphBuilder builder;
    final int id;
    final NodeKind kind;
    final List<Node<?>> upstream;
    final List<Node<?>> controlDeps = new ArrayList<>();
    final ActorHandle<?> actor;
    final Invoker invoker;
    final String method;
    final CollectiveGroup collective;
    final int rank;
    final Projection projection;
    Object constant;
    String label;
    TensorTransport transport;
    /** Set on a {@link GraphBuilder#sendTo} or {@link GraphBuilder#receiveFrom} node: its half of the edge. */
    RemoteEdge remoteEdge;
    /** With {@link #remoteEdge}: true for the sending half. */
    boolean remoteSends;

    Node(GraphBuilder builder, int id, NodeKind kind, List<Node<?>> upstream, ActorHandle<?> actor, Invoker invoker,
         String method, CollectiveGroup collective, int rank, Projection projection) {
        this.builder = builder;
        this.id = id;
        this.kind = kind;
        this.upstream = List.copyOf(upstream);
        this.actor = actor;
        this.invoker = invoker;
        this.method = method;
        this.collective = collective;
        this.rank = rank;
        this.projection = projection;
    }

    /** @return the node's number in bind order, unique within its builder */
    public int id() {
        return id;
    }

    public NodeKind kind() {
        return kind;
    }

    /** @return the actor running this node, or null for the input, projections and not-yet-placed functions */
    public ActorHandle<?> actor() {
        return actor;
    }

    /** @return data dependencies, in argument order */
    public List<Node<?>> upstream() {
        return upstream;
    }

    /** @return ordering-only dependencies added with {@link #after} */
    public List<Node<?>> controlDependencies() {
        return Collections.unmodifiableList(controlDeps);
    }

    /** @return a readable name such as {@code "tokenizer.encode"}, used in errors, DOT output and traces */
    public String label() {
        if (label != null) {
            return label;
        }
        switch (kind) {
            case INPUT:
                return "input";
            case ACTOR_TASK:
                return actor.name() + "." + method;
            case FUNCTION:
                return "fn:" + method;
            case COLLECTIVE:
                return actor.name() + "." + collective.label();
            case CONSTANT:
                return "const " + ConstantLabels.describe(constant);
            default:
                return upstream.get(0).label() + projection.describe();
        }
    }

    /** Sets a custom label. */
    public Node<T> named(String newLabel) {
        this.label = newLabel;
        return this;
    }

    /**
     * Adds ordering-only dependencies: this node's task starts after theirs, without reading their values. A failure
     * in a dependency still skips this task.
     */
    public Node<T> after(Node<?>... nodes) {
        for (Node<?> n : nodes) {
            builder.checkOwn(n);
            controlDeps.add(n);
        }
        return this;
    }

    /**
     * Sends this node's value (a {@code DeviceArray} of the producing GPU actor) to its reader as device memory: a
     * hand-over on the same actor, a peer copy between two GPUs of this process, or NCCL send/recv (see
     * {@link TensorTransport}). The value is moved, so it must have exactly one reading task and not be an output;
     * compile checks it.
     */
    public Node<T> withTensorTransport(TensorTransport t) {
        if (kind != NodeKind.ACTOR_TASK && kind != NodeKind.COLLECTIVE) {
            throw new GraphValidationException("node " + this + " is not produced by an actor task; only a GPU actor's"
                    + " result can travel as device memory");
        }
        this.transport = java.util.Objects.requireNonNull(t, "transport");
        return this;
    }

    /** @return the tensor transport set with {@link #withTensorTransport}, or null */
    public TensorTransport tensorTransport() {
        return transport;
    }

    /** @return element {@code index} of this node's value ({@code Object[]}, {@code List} or {@link Args}) */
    public <U> Node<U> part(int index) {
        return builder.project(this, Projection.index(index));
    }

    /** Typed form of {@link #part(int)}. */
    public <U> Node<U> part(int index, Class<U> type) {
        return part(index);
    }

    /** Sugar for {@code builder.bind(actor, method, this)}. */
    public <A, R> Node<R> to(ActorHandle<A> target, ActorMethod1<A, ? super T, R> m) {
        return builder.bind(target, m, this);
    }

    /** Sugar for {@code builder.function(f, this)}. */
    public <R> Node<R> map(Function1<? super T, R> f) {
        return builder.function(f, this);
    }

    @Override
    public String toString() {
        return label() + " (#" + id + ")";
    }
}
