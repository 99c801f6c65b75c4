package io.stoker.spark.sql;

import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.spark.executor.ExecutorRuntime;
import io.stoker.spark.executor.ExecutorRuntimes;
import io.stoker.spark.executor.GraphReplicas;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.shim.ArrowRowWriter;
import io.stoker.spark.shim.ShimLoader;
import io.stoker.spark.shim.SparkShims;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.TaskContext;
import org.apache.spark.TaskKilledException;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One task's pass of a partition through an executor's compiled graph. Pulls rows into Arrow batches (Spark's
 * ArrowWriter via the shim), submits each to a graph replica, and emits the rows of each result batch, in input
 * order, as rows of the result schema (kept input columns, then the graph's output columns).
 *
 * <p>Emitted rows are views ({@code ColumnarBatchRow}) into the current batch's Arrow vectors, valid until the
 * iterator moves past that batch. That is safe because this RDD is read only through the DataFrame built on it,
 * whose scan ({@code RDDScanExec}) copies every row into an {@code UnsafeRow} as it reads it; a second projection
 * here would copy each row twice.
 *
 * <p>Up to {@code spark.stoker.batch.maxInFlightPerTask} batches are in flight: while the task converts batch n's
 * output to rows, the graph already works on batch n+1. Each in-flight batch owns a {@link Slot}: an input root
 * (reused across batches) and the future of its result. A slot's root is reset only after its result rows were
 * emitted, because an identity-like graph returns the input root itself.
 *
 * <p>Memory: all input roots come from a per-task child of the executor's allocator; output roots (allocated by
 * actors) are closed here once their rows are emitted. At task end the completion listener waits for results still
 * in flight (the graph may still read their input roots), closes them, then the roots and the task allocator.
 *
 * <p>Threading: one Spark task thread drives the iterator and the completion listener; result futures complete on
 * the graph's async executor.
 */
final class BatchPipeline implements Iterator<InternalRow> {
    private static final Logger LOG = LoggerFactory.getLogger(BatchPipeline.class);
    private static final long POLL_MILLIS = 200;

    /** One batch in flight: its input root and writer (reused), and the pending result. */
    private static final class Slot {
        final VectorSchemaRoot root;
        final ArrowRowWriter writer;
        CompletableFuture<Object> result;
        int rows;
        long batchIndex;
        long submitNanos;

        Slot(VectorSchemaRoot root, ArrowRowWriter writer) {
            this.root = root;
            this.writer = writer;
        }
    }

    private final GraphSpec spec;
    private final Iterator<InternalRow> input;
    private final StructType outputSchema;
    private final Schema expectedOutput;
    private final int[] keptInput;
    private final int batchRows;
    private final long timeoutMillis;
    private final ExecutorRuntime runtime;
    private final StokerMetrics metrics;
    private final GraphReplicas graphs;
    private final BufferAllocator allocator;
    private final TaskContext task;
    private final Slot[] slots;
    private final ArrayDeque<Slot> free = new ArrayDeque<>();
    private final ArrayDeque<Slot> inFlight = new ArrayDeque<>();
    private final String where;

    private Slot current;
    private VectorSchemaRoot currentOutput;
    private Iterator<InternalRow> currentRows;
    private long batches;
    private boolean closed;

    private BatchPipeline(String session, GraphSpec spec, Iterator<InternalRow> input, StructType inputSchema, StructType outputSchema,
                          int[] keptInput, String timeZoneId, int batchRowsOverride) {
        this.spec = spec;
        this.input = input;
        this.outputSchema = outputSchema;
        this.keptInput = keptInput;
        this.task = TaskContext.get();
        this.where = task == null ? "outside a task" : "partition " + task.partitionId() + " (stage "
                + task.stageId() + ", task attempt " + task.taskAttemptId() + ")";
        this.runtime = ExecutorRuntimes.current(session);
        this.metrics = runtime.metrics();
        this.batchRows = batchRowsOverride > 0 ? batchRowsOverride : runtime.conf().batchRows();
        this.timeoutMillis = runtime.conf().batchTimeoutMillis();
        this.graphs = runtime.graph(spec);
        SparkShims shims = ShimLoader.get();
        Schema inputArrow = shims.toArrowSchema(inputSchema, timeZoneId);
        this.expectedOutput = shims.toArrowSchema(outputSchema, timeZoneId);
        this.allocator = runtime.newTaskAllocator("stoker-task-" + (task == null ? "local" : task.taskAttemptId()));
        int n = runtime.conf().maxBatchesInFlightPerTask();
        this.slots = new Slot[n];
        try {
            for (int i = 0; i < n; i++) {
                VectorSchemaRoot root = VectorSchemaRoot.create(inputArrow, allocator);
                slots[i] = new Slot(root, shims.newRowWriter(root));
                free.add(slots[i]);
            }
        } catch (RuntimeException e) {
            for (Slot s : slots) {
                if (s != null) {
                    s.root.close();
                }
            }
            allocator.close();
            throw e;
        }
        metrics.task();
    }

    /** Opens the pipeline and registers its cleanup with the running task. */
    static Iterator<InternalRow> open(String session, GraphSpec spec, Iterator<InternalRow> rows, StructType inputSchema,
                                      StructType outputSchema, int[] keptInput,
                                      String timeZoneId, int batchRows) {
        BatchPipeline p = new BatchPipeline(session, spec, rows, inputSchema, outputSchema, keptInput,
                timeZoneId, batchRows);
        if (p.task != null) {
            p.task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> p.close());
        }
        return p;
    }

    @Override
    public boolean hasNext() {
        while (currentRows == null || !currentRows.hasNext()) {
            if (closed) {
                return false;
            }
            releaseCurrent();
            fill();
            Slot s = inFlight.poll();
            if (s == null) {
                close();
                return false;
            }
            current = s;
            currentOutput = awaitOutput(s);
            currentRows = rowsOf(s, currentOutput);
        }
        return true;
    }

    @Override
    public InternalRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return currentRows.next();
    }

    /** Fills free slots from the input and submits them. */
    private void fill() {
        while (!free.isEmpty() && input.hasNext()) {
            Slot s = free.peek();
            int n = 0;
            while (n < batchRows && input.hasNext()) {
                s.writer.write(input.next());
                n++;
            }
            s.writer.finish();
            free.poll();
            s.rows = n;
            s.batchIndex = batches++;
            s.submitNanos = System.nanoTime();
            metrics.batchIn(n);
            CompiledGraph<Object, Object> g = graphs.next();
            try {
                s.result = g.executeAsync(s.root);
            } catch (RuntimeException e) {
                s.result = CompletableFuture.failedFuture(e);
            }
            inFlight.add(s);
        }
    }

    private VectorSchemaRoot awaitOutput(Slot s) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        Object out;
        while (true) {
            try {
                out = s.result.get(POLL_MILLIS, TimeUnit.MILLISECONDS);
                break;
            } catch (TimeoutException e) {
                if (task != null && task.isInterrupted()) {
                    throw new TaskKilledException("Stoker batch wait interrupted: the task was killed");
                }
                if (System.nanoTime() > deadline) {
                    metrics.executionFailed();
                    throw new StokerBatchException("Stoker graph '" + spec.name() + "' did not return batch "
                            + s.batchIndex + " of " + where + " on executor " + runtime.executorId() + " within "
                            + timeoutMillis + " ms (spark.stoker.batch.timeoutMs); an actor is stuck or too slow");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TaskKilledException("Stoker batch wait interrupted");
            } catch (ExecutionException e) {
                metrics.executionFailed();
                Throwable c = e.getCause();
                throw new StokerBatchException("Stoker graph '" + spec.name() + "' failed on batch " + s.batchIndex
                        + " of " + where + " on executor " + runtime.executorId() + ": " + c.getMessage(), c);
            }
        }
        if (!(out instanceof VectorSchemaRoot)) {
            metrics.executionFailed();
            closeIfBatch(out, s);
            throw new StokerBatchException("Stoker graph '" + spec.name() + "' returned "
                    + (out == null ? "null" : "a " + out.getClass().getName()) + " for batch " + s.batchIndex + " of "
                    + where + "; the output step '" + spec.output() + "' must return an Arrow VectorSchemaRoot with"
                    + " the declared output schema " + outputSchema.simpleString());
        }
        VectorSchemaRoot root = (VectorSchemaRoot) out;
        String mismatch = SchemaCheck.mismatch(expectedOutput, root.getSchema());
        if (mismatch != null) {
            metrics.executionFailed();
            closeIfBatch(root, s);
            throw new StokerBatchException("Stoker graph '" + spec.name() + "' returned batch " + s.batchIndex + " of "
                    + where + " with a schema that does not match the declared output schema "
                    + outputSchema.simpleString() + ": " + mismatch + "; fix the step '" + spec.output()
                    + "' or the outputSchema passed to mapBatches");
        }
        if (keptInput.length > 0 && root.getRowCount() != s.rows) {
            metrics.executionFailed();
            closeIfBatch(root, s);
            throw new StokerBatchException("Stoker graph '" + spec.name() + "' returned " + root.getRowCount()
                    + " rows for batch " + s.batchIndex + " of " + where + ", which had " + s.rows + " rows; with"
                    + " input columns kept each output row extends its input row, so the counts must match (use"
                    + " dropInput() for graphs that filter or expand rows)");
        }
        metrics.batchOut(root.getRowCount(), System.nanoTime() - s.submitNanos);
        return root;
    }

    private Iterator<InternalRow> rowsOf(Slot s, VectorSchemaRoot out) {
        int outCols = out.getFieldVectors().size();
        ColumnVector[] cols = new ColumnVector[keptInput.length + outCols];
        for (int i = 0; i < keptInput.length; i++) {
            cols[i] = new ArrowColumnVector(s.root.getVector(keptInput[i]));
        }
        int j = keptInput.length;
        for (FieldVector v : out.getFieldVectors()) {
            cols[j++] = new ArrowColumnVector(v);
        }
        ColumnarBatch batch = new ColumnarBatch(cols, out.getRowCount());
        return batch.rowIterator();
    }

    /** Returns the consumed slot to the free list and closes its output (unless it is the input root itself). */
    private void releaseCurrent() {
        Slot s = current;
        if (s == null) {
            return;
        }
        current = null;
        currentRows = null;
        if (currentOutput != null && currentOutput != s.root) {
            currentOutput.close();
        }
        currentOutput = null;
        s.writer.reset();
        s.result = null;
        free.add(s);
    }

    private static void closeIfBatch(Object out, Slot s) {
        if (out instanceof VectorSchemaRoot && out != s.root) {
            ((VectorSchemaRoot) out).close();
        }
    }

    /**
     * Waits for results still in flight (bounded by the batch timeout), closes them, then the input roots and the
     * task allocator. If a result never arrives its input root stays allocated rather than freed under a running
     * actor. Idempotent.
     */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        boolean safe = true;
        if (current != null) {
            if (currentOutput != null && currentOutput != current.root) {
                currentOutput.close();
            }
            currentOutput = null;
            current = null;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (Slot s : inFlight) {
            try {
                Object out = s.result.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                closeIfBatch(out, s);
            } catch (TimeoutException e) {
                safe = false;
                LOG.error("Stoker graph '{}': batch {} of {} still running at task end; leaving its input batch"
                        + " allocated", spec.name(), s.batchIndex, where);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                safe = false;
            } catch (ExecutionException e) {
                // already reported by the task's failure, or abandoned by a killed task
            }
        }
        inFlight.clear();
        if (!safe) {
            return;
        }
        for (Slot s : slots) {
            s.root.close();
        }
        try {
            allocator.close();
        } catch (IllegalStateException e) {
            LOG.error("Stoker task allocator leaked Arrow memory ({}): {}", where, e.getMessage());
        }
    }
}
