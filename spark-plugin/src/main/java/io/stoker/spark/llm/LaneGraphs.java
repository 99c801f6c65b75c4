package io.stoker.spark.llm;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorMethod1;
import io.stoker.runtime.graph.BackpressurePolicy;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.graph.GraphBuilder;
import io.stoker.runtime.graph.GraphOptions;
import io.stoker.runtime.graph.InputNode;
import io.stoker.runtime.graph.Node;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.util.concurrent.CompletableFuture;

/**
 * The two compiled graphs of one processor lane, whatever the backend: {@code prepare} (Arrow rows → requests on a
 * preparer actor → handed to the backend actor, which returns at once) and {@code finish} (the answered rows → an
 * Arrow batch on the assembler actor). A batch runs the second graph once every row of it has its answer.
 *
 * @param prepare RequestBatch → RowBatch (enqueued)
 * @param finish  RowBatch (answered) → Arrow output
 */
record LaneGraphs(CompiledGraph<RequestBatch, RowBatch> prepare, CompiledGraph<RowBatch, VectorSchemaRoot> finish) {
    private static final GraphOptions OPTIONS = GraphOptions.defaults().withMaxInFlight(4096)
            .withBackpressure(BackpressurePolicy.WAIT).withSubmitTimeoutMillis(Long.MAX_VALUE / 4);

    static <P, B> LaneGraphs compile(StokerRuntime rt, String name, ActorHandle<P> preparer,
                                     ActorMethod1<P, RequestBatch, RowBatch> prepare, ActorHandle<B> backend,
                                     ActorMethod1<B, RowBatch, RowBatch> enqueue,
                                     ActorHandle<ResultAssembler> assembler) {
        GraphBuilder g = GraphBuilder.on(rt, name + "-prepare");
        InputNode<RequestBatch> in = g.input();
        Node<RowBatch> prepared = g.bind(preparer, prepare, in);
        Node<RowBatch> enqueued = g.bind(backend, enqueue, prepared);
        CompiledGraph<RequestBatch, RowBatch> first = g.compile(enqueued, OPTIONS.withName(name + "-prepare"));
        try {
            GraphBuilder f = GraphBuilder.on(rt, name + "-finish");
            InputNode<RowBatch> done = f.input();
            Node<VectorSchemaRoot> out = f.bind(assembler, ResultAssembler::assemble, done);
            return new LaneGraphs(first, f.compile(out, OPTIONS.withName(name + "-finish")));
        } catch (RuntimeException e) {
            first.close();
            throw e;
        }
    }

    /** Sends a batch through both graphs. */
    RowProcessor.Pending submit(RequestBatch batch) {
        CompletableFuture<RowBatch> enqueued = prepare.executeAsync(batch);
        CompletableFuture<VectorSchemaRoot> out = enqueued.thenCompose(rb -> rb.done().handle((x, e) -> rb))
                .thenCompose(finish::executeAsync);
        return new RowProcessor.Pending(enqueued, out);
    }

    void close() {
        prepare.close();
        finish.close();
    }
}
