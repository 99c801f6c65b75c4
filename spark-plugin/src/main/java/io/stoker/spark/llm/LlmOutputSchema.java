package io.stoker.spark.llm;

import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;

/**
 * The columns an LLM call adds, as one struct (what {@code llm_generate} returns; llmMap spreads its fields into
 * top-level columns): {@code generated_text}, {@code num_input_tokens}, {@code num_generated_tokens},
 * {@code finish_reason} (stop, length or error), {@code time_to_first_token_ms}, {@code time_taken_ms},
 * {@code error} (null when the row is fine), and optionally {@code token_ids} and {@code logprobs}. Names follow
 * the call's {@code output_prefix}/{@code output_names}. The HTTP backend can add {@code http_status} and
 * {@code raw_response}.
 */
public final class LlmOutputSchema {
    /** One generated token's log-probability and the most likely alternatives. */
    public static final StructType TOP_LOGPROB = new StructType(new StructField[]{
            field("token_id", DataTypes.IntegerType, false),
            field("token", DataTypes.StringType, true),
            field("logprob", DataTypes.DoubleType, false)});
    public static final StructType TOKEN_LOGPROB = new StructType(new StructField[]{
            field("token_id", DataTypes.IntegerType, false),
            field("token", DataTypes.StringType, true),
            field("logprob", DataTypes.DoubleType, false),
            field("top_logprobs", DataTypes.createArrayType(TOP_LOGPROB, false), false)});

    /** Positions of the always-present fields in {@link #struct} (the optional ones follow {@link #ERROR}). */
    static final int NUM_INPUT_TOKENS = 1;
    static final int NUM_GENERATED_TOKENS = 2;
    static final int ERROR = 6;

    private LlmOutputSchema() {
    }

    /** @return the struct type of one row's results */
    public static StructType struct(LlmSpec spec) {
        List<StructField> fs = new ArrayList<>();
        fs.add(field(spec.outputName("generated_text"), DataTypes.StringType, true));
        fs.add(field(spec.outputName("num_input_tokens"), DataTypes.IntegerType, false));
        fs.add(field(spec.outputName("num_generated_tokens"), DataTypes.IntegerType, false));
        fs.add(field(spec.outputName("finish_reason"), DataTypes.StringType, false));
        fs.add(field(spec.outputName("time_to_first_token_ms"), DataTypes.DoubleType, true));
        fs.add(field(spec.outputName("time_taken_ms"), DataTypes.DoubleType, true));
        fs.add(field(spec.outputName("error"), DataTypes.StringType, true));
        if (spec.returnTokenIds()) {
            fs.add(field(spec.outputName("token_ids"), DataTypes.createArrayType(DataTypes.IntegerType, false), true));
        }
        if (spec.returnLogprobs()) {
            fs.add(field(spec.outputName("logprobs"), DataTypes.createArrayType(TOKEN_LOGPROB, false), true));
        }
        if (spec.returnHttpStatus()) {
            fs.add(field(spec.outputName("http_status"), DataTypes.IntegerType, true));
        }
        if (spec.returnRawResponse()) {
            fs.add(field(spec.outputName("raw_response"), DataTypes.StringType, true));
        }
        return new StructType(fs.toArray(new StructField[0]));
    }

    private static StructField field(String name, DataType type, boolean nullable) {
        return new StructField(name, type, nullable, Metadata.empty());
    }
}
