package io.stoker.spark.llm;

import io.stoker.spark.plugin.DriverState;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * LLM batch inference as a DataFrame transformation: {@code df.transform(Stoker.llm(llm).prompt(col("question")))}.
 * Every input row yields exactly one output row: the input columns in order, then the call's output columns
 * ({@link LlmOutputSchema}). The plan gets an {@code LlmGenerate} node (EXPLAIN shows it), run by a batching
 * operator that feeds one long-lived engine per executor; column pruning and filters around it still work.
 *
 * <p>Immutable: every method returns a copy. {@link #apply} runs on the driver and validates the call there.
 */
public final class LlmMap extends AbstractFunction1<Dataset<Row>, Dataset<Row>> implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final AtomicLong CALLS = new AtomicLong();

    /** A column computed from each output row after generation. */
    private record Post(String name, Function<Row, Object> fn, DataType type) implements Serializable {
    }

    private final Llm llm;
    private final Column prompt;
    private final Column messages;
    private final Column sampling;
    private final Function<Row, String> preprocess;
    private final List<Post> postprocess;

    public LlmMap(Llm llm) {
        this(llm, null, null, null, null, List.of());
    }

    private LlmMap(Llm llm, Column prompt, Column messages, Column sampling, Function<Row, String> preprocess,
                   List<Post> postprocess) {
        if (llm == null) {
            throw new IllegalArgumentException("llmMap needs an Llm (e.g. Llm.model(\"demo\"))");
        }
        this.llm = llm;
        this.prompt = prompt;
        this.messages = messages;
        this.sampling = sampling;
        this.preprocess = preprocess;
        this.postprocess = List.copyOf(postprocess);
    }

    /** @return a copy whose rows are prompted with this string column */
    public LlmMap prompt(Column c) {
        return new LlmMap(llm, c, null, sampling, null, postprocess);
    }

    /** @return a copy whose rows are chats: an {@code array<struct<role: string, content: string>>} column */
    public LlmMap messages(Column c) {
        return new LlmMap(llm, null, c, sampling, null, postprocess);
    }

    /**
     * @return a copy with per-row sampling overrides: a struct or {@code map<string, _>} column with any of
     * temperature, top_p, top_k, min_p, max_tokens, stop, seed, presence_penalty, frequency_penalty,
     * repetition_penalty, logprobs, ignore_eos, stop_token_ids (null fields keep the call's defaults)
     */
    public LlmMap sampling(Column c) {
        return new LlmMap(llm, prompt, messages, c, preprocess, postprocess);
    }

    /** @return a copy whose prompt is computed from each whole input row (instead of a prompt column) */
    public LlmMap preprocess(Function<Row, String> fn) {
        return new LlmMap(llm, null, null, sampling, fn, postprocess);
    }

    /** @return a copy that adds a column computed from each output row (input and output columns) */
    public LlmMap postprocess(String column, Function<Row, Object> fn, DataType type) {
        List<Post> p = new ArrayList<>(postprocess);
        p.add(new Post(column, fn, type));
        return new LlmMap(llm, prompt, messages, sampling, preprocess, p);
    }

    public Llm llm() {
        return llm;
    }

    @Override
    public Dataset<Row> apply(Dataset<Row> df) {
        SparkSession spark = df.sparkSession();
        DriverState.require(spark.sparkContext(), "llmMap");
        if (!spark.catalog().functionExists(LlmGenerate.Name())) {
            throw new IllegalStateException("llmMap needs Stoker's SQL extensions, which the plugin adds to"
                    + " spark.sql.extensions when the SparkContext starts; this SparkSession was built without them"
                    + " (spark.sql.extensions=" + spark.conf().get("spark.sql.extensions", "") + "). Build the session"
                    + " after starting the context with the plugin, or add " + StokerSqlExtensions.class.getName());
        }
        LlmSpec spec = llm.spec();
        int inputs = (prompt != null ? 1 : 0) + (messages != null ? 1 : 0) + (preprocess != null ? 1 : 0);
        if (inputs != 1) {
            throw new IllegalArgumentException("llmMap needs exactly one of prompt(column), messages(column) or"
                    + " preprocess(fn); got " + inputs);
        }
        String[] inCols = df.columns();
        Set<String> taken = new HashSet<>();
        for (String c : inCols) {
            taken.add(c.toLowerCase(Locale.ROOT));
        }
        List<String> outNames = new ArrayList<>();
        for (StructField f : LlmOutputSchema.struct(spec).fields()) {
            if (taken.contains(f.name().toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("llmMap: output column '" + f.name() + "' clashes with an input"
                        + " column of the same name; rename it (Llm.outputName(\"" + f.name() + "\", \"...\")), set"
                        + " Llm.outputPrefix(\"llm_\"), or drop the input column; input columns are "
                        + List.of(inCols));
            }
            outNames.add(f.name());
        }
        for (String o : outNames) {
            taken.add(o.toLowerCase(Locale.ROOT)); // Spark resolves names case-insensitively: "Error" is "error"
        }
        for (Post p : postprocess) {
            if (!taken.add(p.name().toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("llmMap: postprocess column '" + p.name() + "' clashes with an"
                        + " existing column; choose another name");
            }
        }
        Column input = prompt != null ? prompt : messages;
        if (preprocess != null) {
            Function<Row, String> fn = preprocess;
            UDF1<Row, String> udf = fn::call;
            input = functions.udf(udf, DataTypes.StringType).apply(functions.struct(cols(df, inCols)));
        }
        List<Column> args = new ArrayList<>();
        args.add(input);
        for (Map.Entry<String, String> e : spec.toOptions().entrySet()) {
            args.add(functions.lit(e.getKey()));
            args.add(functions.lit(e.getValue()));
        }
        if (sampling != null) {
            args.add(functions.lit("sampling"));
            args.add(sampling);
        }
        String tmp = "__stoker_llm_" + CALLS.incrementAndGet();
        Column call = functions.call_function(LlmGenerate.Name(), args.toArray(new Column[0]));
        List<Column> select = new ArrayList<>(List.of(cols(df, inCols)));
        select.add(call.as(tmp));
        Dataset<Row> withCall = df.select(select.toArray(new Column[0]));
        List<Column> out = new ArrayList<>();
        for (String c : inCols) {
            out.add(withCall.col(quote(c)));
        }
        for (String n : outNames) {
            out.add(withCall.col(tmp).getField(n).as(n));
        }
        Dataset<Row> result = withCall.select(out.toArray(new Column[0]));
        for (Post p : postprocess) {
            Function<Row, Object> fn = p.fn();
            UDF1<Row, Object> udf = fn::call;
            result = result.withColumn(p.name(), functions.udf(udf, p.type())
                    .apply(functions.struct(cols(result, result.columns()))));
        }
        return result;
    }

    private static Column[] cols(Dataset<Row> df, String[] names) {
        Column[] c = new Column[names.length];
        for (int i = 0; i < names.length; i++) {
            c[i] = df.col(quote(names[i]));
        }
        return c;
    }

    private static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    @Override
    public String toString() {
        return "LlmMap[" + llm.options().getOrDefault("model", "?") + "]";
    }
}
