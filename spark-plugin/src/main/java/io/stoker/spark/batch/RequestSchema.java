package io.stoker.spark.batch;

import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The columns {@code spark.read.format("openai-batch")} gives each request line of an OpenAI Batch input file:
 *
 * <pre>
 * custom_id        string   the request's custom_id
 * method           string   "POST"
 * url              string   /v1/chat/completions or /v1/completions
 * model            string   body.model (null when absent)
 * messages         array&lt;struct&lt;role: string, content: string&gt;&gt;   body.messages (chat); text parts joined
 * prompt           string   body.prompt (completions)
 * sampling         struct   body's sampling fields, named as llmMap's sampling column wants them
 * other_fields     array&lt;string&gt;   body fields set to a non-default value that no column above carries
 * body             string   the raw body JSON
 * file             string   the file's URI
 * line             bigint   the 1-based line number
 * line_error       string   null, or why the line is not a batch request (bad UTF-8, not JSON, too long, missing
 *                           or invalid custom_id/method/url/body), naming file and line
 * body_error       string   null, or why the body is not a valid request for its url, naming file and line
 * </pre>
 *
 * The sampling struct's fields are llmMap's: temperature, top_p, top_k, min_p, max_tokens (from max_tokens or
 * max_completion_tokens), stop, seed, presence_penalty, frequency_penalty, repetition_penalty, ignore_eos,
 * stop_token_ids; fields the body does not set are null.
 */
public final class RequestSchema {
    public static final String CUSTOM_ID = "custom_id";
    public static final String METHOD = "method";
    public static final String URL = "url";
    public static final String MODEL = "model";
    public static final String MESSAGES = "messages";
    public static final String PROMPT = "prompt";
    public static final String SAMPLING = "sampling";
    public static final String OTHER_FIELDS = "other_fields";
    public static final String BODY = "body";
    public static final String FILE = "file";
    public static final String LINE = "line";
    public static final String LINE_ERROR = "line_error";
    public static final String BODY_ERROR = "body_error";

    public static final String CHAT_URL = "/v1/chat/completions";
    public static final String COMPLETIONS_URL = "/v1/completions";

    public static final StructType MESSAGE = new StructType(new StructField[]{
            field("role", DataTypes.StringType), field("content", DataTypes.StringType)});

    /** Field order of {@link #SAMPLING_TYPE}; {@link ParsedRequest#sampling()} holds values in this order. */
    static final String[] SAMPLING_FIELDS = {"temperature", "top_p", "top_k", "min_p", "max_tokens", "stop", "seed",
            "presence_penalty", "frequency_penalty", "repetition_penalty", "ignore_eos", "stop_token_ids"};

    public static final StructType SAMPLING_TYPE = new StructType(new StructField[]{
            field("temperature", DataTypes.DoubleType),
            field("top_p", DataTypes.DoubleType),
            field("top_k", DataTypes.IntegerType),
            field("min_p", DataTypes.DoubleType),
            field("max_tokens", DataTypes.IntegerType),
            field("stop", DataTypes.createArrayType(DataTypes.StringType, false)),
            field("seed", DataTypes.LongType),
            field("presence_penalty", DataTypes.DoubleType),
            field("frequency_penalty", DataTypes.DoubleType),
            field("repetition_penalty", DataTypes.DoubleType),
            field("ignore_eos", DataTypes.BooleanType),
            field("stop_token_ids", DataTypes.createArrayType(DataTypes.IntegerType, false))});

    public static final StructType SCHEMA = new StructType(new StructField[]{
            field(CUSTOM_ID, DataTypes.StringType),
            field(METHOD, DataTypes.StringType),
            field(URL, DataTypes.StringType),
            field(MODEL, DataTypes.StringType),
            field(MESSAGES, DataTypes.createArrayType(MESSAGE, false)),
            field(PROMPT, DataTypes.StringType),
            field(SAMPLING, SAMPLING_TYPE),
            field(OTHER_FIELDS, DataTypes.createArrayType(DataTypes.StringType, false)),
            field(BODY, DataTypes.StringType),
            new StructField(FILE, DataTypes.StringType, false, Metadata.empty()),
            new StructField(LINE, DataTypes.LongType, false, Metadata.empty()),
            field(LINE_ERROR, DataTypes.StringType),
            field(BODY_ERROR, DataTypes.StringType)});

    private RequestSchema() {
    }

    private static StructField field(String name, DataType type) {
        return new StructField(name, type, true, Metadata.empty());
    }
}
