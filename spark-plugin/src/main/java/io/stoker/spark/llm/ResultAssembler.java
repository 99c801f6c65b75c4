package io.stoker.spark.llm;

import io.stoker.spark.shim.ArrowRowWriter;
import io.stoker.spark.shim.ShimLoader;
import io.stoker.spark.shim.SparkShims;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The last stage of an executor's LLM processor, on a CPU actor: turns a finished {@link RowBatch} into an Arrow
 * batch of the call's output columns ({@link LlmOutputSchema}), one row per input row, in input order. Error rows get
 * {@code finish_reason = error} and their message. The returned batch is allocated from this actor's allocator; the
 * task that receives it closes it.
 */
public final class ResultAssembler implements AutoCloseable {
    private final BufferAllocator allocator;
    private final Map<StructType, org.apache.arrow.vector.types.pojo.Schema> schemas = new ConcurrentHashMap<>();

    public ResultAssembler(BufferAllocator allocator) {
        this.allocator = allocator;
    }

    /** Graph step: the Arrow output of a finished batch. */
    public VectorSchemaRoot assemble(RowBatch batch) {
        LlmSpec spec = batch.source().spec();
        StructType type = LlmOutputSchema.struct(spec);
        SparkShims shims = ShimLoader.get();
        VectorSchemaRoot root = VectorSchemaRoot.create(schemas.computeIfAbsent(type,
                t -> shims.toArrowSchema(t, "UTC")), allocator);
        try {
            ArrowRowWriter w = shims.newRowWriter(root);
            for (RowOutcome r : batch.rows()) {
                w.write(row(spec, r, type.fields().length));
            }
            w.finish();
            return root;
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    private static InternalRow row(LlmSpec spec, RowOutcome r, int width) {
        Object[] v = new Object[width];
        RowResult g = r.error != null ? null : result(r.result);
        String error = r.error != null ? r.error : g.error();
        if (error != null) {
            v[1] = g != null ? g.inputTokens() : r.inputTokens;
            v[2] = 0;
            v[3] = UTF8String.fromString("error");
            v[6] = UTF8String.fromString(error);
        } else {
            v[0] = UTF8String.fromString(g.text());
            v[1] = g.inputTokens();
            v[2] = g.generatedTokens();
            v[3] = UTF8String.fromString(g.finishReason() == null ? "stop" : g.finishReason());
            long done = r.doneNanos != 0 ? r.doneNanos : System.nanoTime();
            v[4] = r.firstTokenNanos == 0 ? null : (r.firstTokenNanos - r.submitNanos) / 1e6;
            v[5] = (done - r.submitNanos) / 1e6;
        }
        int i = 7;
        if (spec.returnTokenIds()) {
            int[] ids = g == null ? null : g.tokenIds();
            if (ids != null && error == null) {
                Object[] boxed = new Object[ids.length];
                for (int k = 0; k < ids.length; k++) {
                    boxed[k] = ids[k];
                }
                v[i] = new GenericArrayData(boxed);
            }
            i++;
        }
        if (spec.returnLogprobs()) {
            v[i++] = g == null || g.logprobs() == null || error != null ? null : logprobs(g.logprobs());
        }
        if (spec.returnHttpStatus()) {
            v[i++] = g == null ? null : g.httpStatus();
        }
        if (spec.returnRawResponse()) {
            v[i] = g == null || g.rawResponse() == null ? null : UTF8String.fromString(g.rawResponse());
        }
        return new GenericInternalRow(v);
    }

    private static GenericArrayData logprobs(List<RowResult.TokenLogprob> lps) {
        Object[] out = new Object[lps.size()];
        for (int t = 0; t < out.length; t++) {
            RowResult.TokenLogprob lp = lps.get(t);
            Object[] top = new Object[lp.top().size()];
            for (int k = 0; k < top.length; k++) {
                RowResult.TokenLogprob a = lp.top().get(k);
                top[k] = new GenericInternalRow(new Object[]{a.tokenId(), utf8(a.token()), a.logprob()});
            }
            out[t] = new GenericInternalRow(new Object[]{lp.tokenId(), utf8(lp.token()), lp.logprob(),
                    new GenericArrayData(top)});
        }
        return new GenericArrayData(out);
    }

    private static UTF8String utf8(String s) {
        return s == null ? null : UTF8String.fromString(s);
    }

    private static RowResult result(CompletableFuture<RowResult> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            Throwable c = e.getCause();
            throw c instanceof RuntimeException ? (RuntimeException) c : new IllegalStateException(c);
        } catch (CancellationException e) {
            throw new IllegalStateException("the row's generation was cancelled", e);
        }
    }

    @Override
    public void close() {
        allocator.close();
    }
}
