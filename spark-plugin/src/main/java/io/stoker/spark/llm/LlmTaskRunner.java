package io.stoker.spark.llm;

import io.stoker.spark.executor.ExecutorRuntime;
import io.stoker.spark.executor.ExecutorRuntimes;
import io.stoker.spark.shim.ArrowRowWriter;
import io.stoker.spark.shim.ShimLoader;
import io.stoker.spark.shim.SparkShims;
import io.stoker.spark.sql.StokerBatchException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.TaskContext;
import org.apache.spark.TaskKilledException;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;

import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One task's pass of a partition through its executor's {@link LlmProcessor}. Reads the task's rows, projects each
 * to its request columns (prompt or messages, optional sampling), packs them into Arrow batches of
 * {@code batch_rows}, and keeps up to {@code max_in_flight_per_task} rows in the processor at once; emits each input
 * row joined with its result struct, in input order, exactly once.
 *
 * <p>Rows with an error pass through with the error column set, unless the call has {@code fail_on_error}: then the
 * task fails at the first such row, naming it. An engine that dies fails the task at once (Spark retries it on a
 * rebuilt engine). A killed task cancels its rows in the engine, freeing their KV blocks.
 *
 * <p>Threading: one Spark task thread drives the iterator and the completion listener.
 */
public final class LlmTaskRunner implements Iterator<InternalRow> {
    private static final Logger LOG = LoggerFactory.getLogger(LlmTaskRunner.class);
    private static final long POLL_MILLIS = 200;

    /** One batch in flight: its input rows (kept for the output), its Arrow request batch, and its progress. */
    private static final class Batch {
        final List<InternalRow> inputs = new ArrayList<>();
        final VectorSchemaRoot request;
        final long firstRow;
        RowProcessor.Pending pending;
        long submitNanos;

        Batch(VectorSchemaRoot request, long firstRow) {
            this.request = request;
            this.firstRow = firstRow;
        }
    }

    private final LlmSpec spec;
    private final Iterator<InternalRow> input;
    private final scala.Function1<InternalRow, ? extends InternalRow> requestProjection;
    private final Schema requestSchema;
    private final LlmSqlMetrics sqlMetrics;
    private final ExecutorRuntime host;
    private final RowProcessor processor;
    private final BufferAllocator allocator;
    private final SparkShims shims;
    private final TaskContext task;
    private final String where;
    private final ArrayDeque<Batch> inFlight = new ArrayDeque<>();
    private final JoinedRow joined = new JoinedRow();
    private final GenericInternalRow resultHolder = new GenericInternalRow(1);

    private int rowsInFlight;
    private long rowsRead;
    private Batch current;
    private VectorSchemaRoot currentOutput;
    private ColumnarBatch currentColumns;
    private int currentIndex;
    private boolean closed;

    private LlmTaskRunner(String session, LlmSpec spec, Iterator<InternalRow> input, scala.Function1<InternalRow, ? extends InternalRow> requestProjection,
                          StructType requestType, String timeZoneId, LlmSqlMetrics sqlMetrics) {
        this.spec = spec;
        this.input = input;
        this.requestProjection = requestProjection;
        this.sqlMetrics = sqlMetrics;
        this.task = TaskContext.get();
        this.where = task == null ? "outside a task" : "partition " + task.partitionId() + " (stage "
                + task.stageId() + ", task attempt " + task.taskAttemptId() + ")";
        this.host = ExecutorRuntimes.current(session);
        this.shims = ShimLoader.get();
        this.requestSchema = shims.toArrowSchema(requestType, timeZoneId);
        this.processor = RowProcessor.forCall(host, spec);
        this.allocator = host.newTaskAllocator("stoker-llm-task-" + (task == null ? "local" : task.taskAttemptId()));
        host.metrics().task();
    }

    /**
     * Opens the runner and registers its cleanup with the running task.
     *
     * @param session           the driver plugin's session token
     * @param requestProjection child row → request row ({@code requestType}: prompt or messages, then sampling)
     */
    public static Iterator<InternalRow> open(String session, LlmSpec spec, Iterator<InternalRow> rows,
                                             scala.Function1<InternalRow, ? extends InternalRow> requestProjection, StructType requestType, String timeZoneId,
                                             LlmSqlMetrics metrics) {
        LlmTaskRunner r = new LlmTaskRunner(session, spec, rows, requestProjection, requestType, timeZoneId, metrics);
        if (r.task != null) {
            r.task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> r.close());
        }
        return r;
    }

    @Override
    public boolean hasNext() {
        while (currentColumns == null || currentIndex >= currentColumns.numRows()) {
            if (closed) {
                return false;
            }
            releaseCurrent();
            fill();
            Batch b = inFlight.poll();
            if (b == null) {
                close();
                return false;
            }
            rowsInFlight -= b.inputs.size();
            current = b;
            currentOutput = await(b);
            currentColumns = columns(currentOutput);
            currentIndex = 0;
            account(b, currentOutput);
            fill();
        }
        return true;
    }

    @Override
    public InternalRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        int i = currentIndex++;
        resultHolder.update(0, currentColumns.getRow(i));
        return joined.apply(current.inputs.get(i), resultHolder);
    }

    /** Reads rows into batches and submits them while the in-flight budget lasts. */
    private void fill() {
        while (input.hasNext() && (inFlight.isEmpty() || rowsInFlight < spec.maxInFlightPerTask())) {
            Batch b = new Batch(VectorSchemaRoot.create(requestSchema, allocator), rowsRead);
            try {
                ArrowRowWriter w = shims.newRowWriter(b.request);
                int room = Math.max(1, Math.min(spec.batchRows(), spec.maxInFlightPerTask() - rowsInFlight));
                while (b.inputs.size() < room && input.hasNext()) {
                    InternalRow row = input.next();
                    b.inputs.add(row.copy());
                    w.write(requestProjection.apply(row));
                }
                w.finish();
            } catch (RuntimeException e) {
                b.request.close();
                throw e;
            }
            rowsRead += b.inputs.size();
            rowsInFlight += b.inputs.size();
            b.submitNanos = System.nanoTime();
            b.pending = processor.submit(new RequestBatch(spec, b.request, where, b.firstRow));
            inFlight.add(b);
        }
    }

    private VectorSchemaRoot await(Batch b) {
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(spec.timeoutMillis());
        try {
            while (true) {
                try {
                    return b.pending.output().get(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (task != null && task.isInterrupted()) {
                        throw new TaskKilledException("Stoker LLM wait interrupted: the task was killed");
                    }
                    if (System.nanoTime() > deadline) {
                        throw new StokerBatchException("LLM call on model " + spec.model() + " did not finish rows "
                                + b.firstRow + ".." + (b.firstRow + b.inputs.size() - 1) + " of " + where
                                + " on executor " + host.executorId() + " within " + spec.timeoutMillis()
                                + " ms (timeout_ms); the engine is overloaded or stuck");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new TaskKilledException("Stoker LLM wait interrupted");
                } catch (ExecutionException e) {
                    Throwable c = rootCause(e);
                    host.metrics().executionFailed();
                    String msg = "LLM call on model " + spec.model() + " failed on rows " + b.firstRow + ".."
                            + (b.firstRow + b.inputs.size() - 1) + " of " + where + " on executor "
                            + host.executorId() + ": " + c.getMessage();
                    if (carriesError(c)) {
                        // An Error (e.g. the engine's OutOfMemoryError) in the cause chain would make Spark kill
                        // the whole executor (spark.executor.killOnFatalError.depth); the engine is rebuilt instead.
                        LOG.error(msg, c);
                        throw new StokerBatchException(msg + " (the engine is rebuilt for the retry)");
                    }
                    throw new StokerBatchException(msg, c);
                }
            }
        } finally {
            sqlMetrics.engineWaitNanos().add(System.nanoTime() - t0);
        }
    }

    private static boolean carriesError(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof Error) {
                return true;
            }
        }
        return false;
    }

    private static Throwable rootCause(Throwable e) {
        Throwable c = e;
        while ((c instanceof ExecutionException || c instanceof java.util.concurrent.CompletionException
                || c instanceof io.stoker.runtime.graph.ExecutionFailedException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    private static ColumnarBatch columns(VectorSchemaRoot out) {
        List<FieldVector> vs = out.getFieldVectors();
        ColumnVector[] cols = new ColumnVector[vs.size()];
        for (int i = 0; i < cols.length; i++) {
            cols[i] = new ArrowColumnVector(vs.get(i));
        }
        return new ColumnarBatch(cols, out.getRowCount());
    }

    /** Counts the batch in the metrics; with fail_on_error, fails at its first errored row. */
    private void account(Batch b, VectorSchemaRoot out) {
        IntVector inTok = (IntVector) out.getVector(1);
        IntVector genTok = (IntVector) out.getVector(2);
        VarCharVector err = (VarCharVector) out.getVector(6);
        long errored = 0;
        long in = 0;
        long gen = 0;
        for (int i = 0; i < out.getRowCount(); i++) {
            in += inTok.get(i);
            gen += genTok.get(i);
            if (!err.isNull(i)) {
                errored++;
                if (spec.failOnError()) {
                    throw new StokerBatchException("LLM call on model " + spec.model() + ": row " + (b.firstRow + i)
                            + " of " + where + " failed and fail_on_error=true: " + new String(err.get(i),
                            java.nio.charset.StandardCharsets.UTF_8));
                }
            }
        }
        int rows = out.getRowCount();
        sqlMetrics.rows().add(rows);
        sqlMetrics.erroredRows().add(errored);
        sqlMetrics.inputTokens().add(in);
        sqlMetrics.generatedTokens().add(gen);
        host.metrics().llmBatch(rows, errored, in, gen, processor.running());
    }

    private void releaseCurrent() {
        if (current == null) {
            return;
        }
        currentColumns = null;
        if (currentOutput != null) {
            currentOutput.close();
            currentOutput = null;
        }
        current.request.close();
        current = null;
    }

    /**
     * Cancels rows still in the engine, closes what arrived, and frees the task's Arrow memory. A request batch the
     * preparer may still be reading is left allocated rather than freed under it. Idempotent.
     */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (currentOutput != null) {
            currentOutput.close();
            currentOutput = null;
        }
        if (current != null) {
            current.request.close();
            current = null;
        }
        boolean safe = true;
        for (Batch b : inFlight) {
            b.pending.cancel();
            b.pending.output().whenComplete((out, e) -> {
                if (out != null) {
                    out.close();
                }
            });
            try {
                b.pending.enqueued().get(10, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                safe = false;
                LOG.error("LLM call on {}: rows {}.. of {} still being prepared at task end; leaving their batch"
                        + " allocated", spec.model(), b.firstRow, where);
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                safe = false;
                continue;
            } catch (ExecutionException e) {
                // the task already failed with it, or it was abandoned
            }
            b.request.close();
        }
        inFlight.clear();
        if (!safe) {
            return;
        }
        try {
            allocator.close();
        } catch (IllegalStateException e) {
            LOG.error("Stoker LLM task allocator leaked Arrow memory ({}): {}", where, e.getMessage());
        }
    }
}
