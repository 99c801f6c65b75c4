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
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One task's pass of a partition through its executor's {@link RowProcessor}. Reads the task's rows in windows of
 * half of {@code max_in_flight_per_task} rows (two windows are in flight, so the engine never waits for the task),
 * orders each window by prompt so that rows sharing a prefix (a system prompt, a few-shot preamble) reach the engine
 * together and its prefix cache pays, packs them into Arrow batches of {@code batch_rows}, and emits every input row
 * joined with its result struct, in input order, exactly once.
 *
 * <p>Rows with an error pass through with the error column set, unless the call has {@code fail_on_error}: then the
 * task fails at the first such row (in input order), naming it. An engine that dies fails the task at once (Spark
 * retries it on a rebuilt engine). A killed task cancels its rows in the engine, freeing their KV blocks.
 *
 * <p>Threading: one Spark task thread drives the iterator and the completion listener.
 */
public final class LlmTaskRunner implements Iterator<InternalRow> {
    private static final Logger LOG = LoggerFactory.getLogger(LlmTaskRunner.class);
    private static final long POLL_MILLIS = 200;

    /** One batch of a window: its Arrow request batch and, per batch row, the row's index in the window. */
    private static final class Batch {
        final VectorSchemaRoot request;
        final int[] rows;
        RowProcessor.Pending pending;

        Batch(VectorSchemaRoot request, int[] rows) {
            this.request = request;
            this.rows = rows;
        }
    }

    /** A window of input rows on its way: the rows (kept for the output), their batches and, once done, results. */
    private static final class Window {
        final long firstRow;
        final List<InternalRow> inputs = new ArrayList<>();
        final List<Batch> batches = new ArrayList<>();
        InternalRow[] results;

        Window(long firstRow) {
            this.firstRow = firstRow;
        }
    }

    private final LlmSpec spec;
    private final Iterator<InternalRow> input;
    private final scala.Function1<InternalRow, ? extends InternalRow> requestProjection;
    private final boolean messagesInput;
    private final Schema requestSchema;
    private final LlmSqlMetrics sqlMetrics;
    private final ExecutorRuntime host;
    private final RowProcessor processor;
    private final BufferAllocator allocator;
    private final SparkShims shims;
    private final TaskContext task;
    private final String where;
    private final int windowRows;
    private final ArrayDeque<Window> inFlight = new ArrayDeque<>();
    private final JoinedRow joined = new JoinedRow();
    private final GenericInternalRow resultHolder = new GenericInternalRow(1);

    private long rowsRead;
    private Window current;
    private int currentIndex;
    private boolean closed;

    private LlmTaskRunner(String session, LlmSpec spec, Iterator<InternalRow> input,
                          scala.Function1<InternalRow, ? extends InternalRow> requestProjection, StructType requestType,
                          String timeZoneId, LlmSqlMetrics sqlMetrics) {
        this.spec = spec;
        this.input = input;
        this.requestProjection = requestProjection;
        this.messagesInput = requestType.fields()[0].dataType() instanceof ArrayType;
        this.sqlMetrics = sqlMetrics;
        this.task = TaskContext.get();
        this.where = task == null ? "outside a task" : "partition " + task.partitionId() + " (stage "
                + task.stageId() + ", task attempt " + task.taskAttemptId() + ")";
        this.host = ExecutorRuntimes.current(session);
        this.shims = ShimLoader.get();
        this.requestSchema = shims.toArrowSchema(requestType, timeZoneId);
        this.windowRows = Math.max(1, Math.max(Math.min(spec.batchRows(), spec.maxInFlightPerTask()),
                spec.maxInFlightPerTask() / 2));
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
                                             scala.Function1<InternalRow, ? extends InternalRow> requestProjection,
                                             StructType requestType, String timeZoneId, LlmSqlMetrics metrics) {
        LlmTaskRunner r = new LlmTaskRunner(session, spec, rows, requestProjection, requestType, timeZoneId, metrics);
        if (r.task != null) {
            r.task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> r.close());
        }
        return r;
    }

    @Override
    public boolean hasNext() {
        while (current == null || currentIndex >= current.inputs.size()) {
            if (closed) {
                return false;
            }
            current = null;
            fill();
            Window w = inFlight.poll();
            if (w == null) {
                close();
                return false;
            }
            finish(w);
            current = w;
            currentIndex = 0;
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
        resultHolder.update(0, current.results[i]);
        return joined.apply(current.inputs.get(i), resultHolder);
    }

    /** Reads windows of rows and submits their batches while fewer than two windows are in flight. */
    private void fill() {
        while (input.hasNext() && inFlight.size() < 2) {
            Window w = new Window(rowsRead);
            List<InternalRow> requests = new ArrayList<>(windowRows);
            while (w.inputs.size() < windowRows && input.hasNext()) {
                InternalRow row = input.next();
                w.inputs.add(row.copy());
                requests.add(requestProjection.apply(row).copy());
            }
            rowsRead += w.inputs.size();
            Integer[] order = new Integer[requests.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            String[] keys = new String[requests.size()];
            for (int i = 0; spec.orderByPrefix() && i < keys.length; i++) {
                keys[i] = prefixKey(requests.get(i));
            }
            if (spec.orderByPrefix()) {
                Arrays.sort(order, Comparator.comparing((Integer i) -> keys[i]).thenComparingInt(i -> i));
            }
            for (int start = 0; start < order.length; start += spec.batchRows()) {
                int n = Math.min(spec.batchRows(), order.length - start);
                int[] rows = new int[n];
                Batch b = new Batch(VectorSchemaRoot.create(requestSchema, allocator), rows);
                try {
                    ArrowRowWriter writer = shims.newRowWriter(b.request);
                    for (int k = 0; k < n; k++) {
                        rows[k] = order[start + k];
                        writer.write(requests.get(rows[k]));
                    }
                    writer.finish();
                } catch (RuntimeException e) {
                    b.request.close();
                    throw e;
                }
                b.pending = processor.submit(new RequestBatch(spec, b.request, where, w.firstRow));
                w.batches.add(b);
            }
            inFlight.add(w);
        }
    }

    /**
     * @return what orders a window: the prompt, or the conversation's roles and contents, so that rows sharing a
     * prefix sort next to each other (nulls first; the order never changes a row's output)
     */
    private String prefixKey(InternalRow request) {
        if (request.isNullAt(0)) {
            return "";
        }
        if (!messagesInput) {
            return request.getUTF8String(0).toString();
        }
        StringBuilder b = new StringBuilder();
        ArrayData msgs = request.getArray(0);
        for (int i = 0; i < msgs.numElements(); i++) {
            if (msgs.isNullAt(i)) {
                continue;
            }
            InternalRow m = msgs.getStruct(i, 2);
            for (int f = 0; f < 2; f++) {
                b.append(m.isNullAt(f) ? "" : m.getUTF8String(f).toString()).append('\u0000');
            }
        }
        return b.toString();
    }

    /** Waits for every batch of the window, keeps a copy of each row's result, and counts the window. */
    private void finish(Window w) {
        w.results = new InternalRow[w.inputs.size()];
        for (Batch b : w.batches) {
            VectorSchemaRoot out = await(w, b);
            try {
                ColumnarBatch cols = columns(out);
                for (int k = 0; k < b.rows.length; k++) {
                    w.results[b.rows[k]] = cols.getRow(k).copy();
                }
                account(out);
            } finally {
                out.close();
                b.request.close();
            }
        }
        if (spec.failOnError()) {
            for (int i = 0; i < w.results.length; i++) {
                if (!w.results[i].isNullAt(LlmOutputSchema.ERROR)) {
                    throw new StokerBatchException("LLM call on model " + spec.model() + ": row " + (w.firstRow + i)
                            + " of " + where + " failed and fail_on_error=true: "
                            + w.results[i].getUTF8String(LlmOutputSchema.ERROR));
                }
            }
        }
    }

    private VectorSchemaRoot await(Window w, Batch b) {
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(spec.timeoutMillis());
        String rows = "rows " + w.firstRow + ".." + (w.firstRow + w.inputs.size() - 1) + " of " + where;
        try {
            while (true) {
                try {
                    return b.pending.output().get(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (task != null && task.isInterrupted()) {
                        throw new TaskKilledException("Stoker LLM wait interrupted: the task was killed");
                    }
                    if (System.nanoTime() > deadline) {
                        throw new StokerBatchException("LLM call on model " + spec.model() + " did not finish " + rows
                                + " on executor " + host.executorId() + " within " + spec.timeoutMillis()
                                + " ms (timeout_ms); the engine is overloaded or stuck");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new TaskKilledException("Stoker LLM wait interrupted");
                } catch (ExecutionException e) {
                    Throwable c = rootCause(e);
                    host.metrics().executionFailed();
                    String msg = "LLM call on model " + spec.model() + " failed on " + rows + " on executor "
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

    /** Counts one finished batch in the SQL and executor metrics. */
    private void account(VectorSchemaRoot out) {
        IntVector inTok = (IntVector) out.getVector(LlmOutputSchema.NUM_INPUT_TOKENS);
        IntVector genTok = (IntVector) out.getVector(LlmOutputSchema.NUM_GENERATED_TOKENS);
        VarCharVector err = (VarCharVector) out.getVector(LlmOutputSchema.ERROR);
        long errored = 0;
        long in = 0;
        long gen = 0;
        for (int i = 0; i < out.getRowCount(); i++) {
            in += inTok.get(i);
            gen += genTok.get(i);
            if (!err.isNull(i)) {
                errored++;
            }
        }
        int rows = out.getRowCount();
        sqlMetrics.rows().add(rows);
        sqlMetrics.erroredRows().add(errored);
        sqlMetrics.inputTokens().add(in);
        sqlMetrics.generatedTokens().add(gen);
        host.metrics().llmBatch(rows, errored, in, gen, processor.running());
    }

    /**
     * Cancels rows still in the backend, closes what arrived, and frees the task's Arrow memory. A request batch the
     * preparer may still be reading is left allocated rather than freed under it. Idempotent.
     */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        current = null;
        boolean safe = true;
        for (Window w : inFlight) {
            for (Batch b : w.batches) {
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
                            + " allocated", spec.model(), w.firstRow, where);
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
