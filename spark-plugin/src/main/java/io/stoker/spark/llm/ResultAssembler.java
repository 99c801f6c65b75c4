package io.stoker.spark.llm;

import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tokenizer.Tokenizer;
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
 * {@code finish_reason = error} and their message; text was already detokenized incrementally by the engine.
 *
 * <p>The returned batch is allocated from this actor's allocator; the task that receives it closes it.
 */
public final class ResultAssembler implements AutoCloseable {
    private final BufferAllocator allocator;
    private final Tokenizer tokenizer;
    private final String timeZone;
    private final Map<StructType, org.apache.arrow.vector.types.pojo.Schema> schemas = new ConcurrentHashMap<>();

    public ResultAssembler(BufferAllocator allocator, Tokenizer tokenizer) {
        this.allocator = allocator;
        this.tokenizer = tokenizer;
        this.timeZone = "UTC";
    }

    /** Graph step: the Arrow output of a finished batch. */
    public VectorSchemaRoot assemble(RowBatch batch) {
        LlmSpec spec = batch.source().spec();
        StructType type = LlmOutputSchema.struct(spec);
        SparkShims shims = ShimLoader.get();
        VectorSchemaRoot root = VectorSchemaRoot.create(schemas.computeIfAbsent(type,
                t -> shims.toArrowSchema(t, timeZone)), allocator);
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

    private InternalRow row(LlmSpec spec, RowOutcome r, int width) {
        Object[] v = new Object[width];
        if (r.error != null) {
            v[1] = r.inputTokens;
            v[2] = 0;
            v[3] = UTF8String.fromString("error");
            v[6] = UTF8String.fromString(r.error);
            return new GenericInternalRow(v);
        }
        GenerationResult g = result(r.result);
        v[0] = UTF8String.fromString(g.text());
        v[1] = g.promptIds().length;
        v[2] = g.tokenIds().length;
        v[3] = UTF8String.fromString(g.finishReason().name().toLowerCase(java.util.Locale.ROOT));
        long done = r.doneNanos != 0 ? r.doneNanos : System.nanoTime();
        v[4] = r.firstTokenNanos == 0 ? null : (r.firstTokenNanos - r.submitNanos) / 1e6;
        v[5] = (done - r.submitNanos) / 1e6;
        int i = 7;
        if (spec.returnTokenIds()) {
            Object[] ids = new Object[g.tokenIds().length];
            for (int k = 0; k < ids.length; k++) {
                ids[k] = g.tokenIds()[k];
            }
            v[i++] = new GenericArrayData(ids);
        }
        if (spec.returnLogprobs()) {
            v[i] = g.logprobs().isEmpty() ? null : logprobs(g.logprobs());
        }
        return new GenericInternalRow(v);
    }

    private GenericArrayData logprobs(List<TokenLogprobs> lps) {
        Object[] out = new Object[lps.size()];
        for (int t = 0; t < out.length; t++) {
            TokenLogprobs lp = lps.get(t);
            Object[] top = new Object[lp.topTokens().length];
            for (int k = 0; k < top.length; k++) {
                top[k] = new GenericInternalRow(new Object[]{lp.topTokens()[k], tokenText(lp.topTokens()[k]),
                        (double) lp.topLogprobs()[k]});
            }
            out[t] = new GenericInternalRow(new Object[]{lp.token(), tokenText(lp.token()), (double) lp.logprob(),
                    new GenericArrayData(top)});
        }
        return new GenericArrayData(out);
    }

    private UTF8String tokenText(int id) {
        return tokenizer == null ? null : UTF8String.fromString(tokenizer.decode(new int[]{id}, false));
    }

    private static GenerationResult result(CompletableFuture<GenerationResult> f) {
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
