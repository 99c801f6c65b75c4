package io.stoker.spark.batch;

import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the writer finds each value in a results row, by column name (-1: the column is absent). The columns:
 *
 * <pre>
 * custom_id             string   required
 * generated_text        string   llmMap's output (required unless response_body is given)
 * finish_reason         string   "
 * num_input_tokens      int      "
 * num_generated_tokens  int      "
 * error                 string   " (a row error becomes a 400 response with an OpenAI error body)
 * url                   string   optional: /v1/chat/completions (default) or /v1/completions
 * model                 string   optional: the response's model (default: the write option "model")
 * file, line            string, bigint   optional: the output is in (file, line) order
 * line_error            string   optional: the line was not a request: the output line has error{code, message}
 * body_error            string   optional: the body was invalid: a 400 response
 * status_code           int      optional: the HTTP status of a row error (default 400) or of response_body
 * error_code            string   optional: the "code" of a row error's OpenAI error body
 * response_body         string   optional: a server's raw response JSON, written as the response body
 * </pre>
 */
record ResultColumns(int customId, int generatedText, int finishReason, int inputTokens, int generatedTokens,
                     int error, int url, int model, int file, int line, int lineError, int bodyError, int statusCode,
                     int errorCode, int responseBody) implements Serializable {

    /** @throws IllegalArgumentException naming every missing required column and wrongly typed column */
    static ResultColumns of(StructType schema) {
        List<String> problems = new ArrayList<>();
        int responseBody = index(schema, "response_body", DataTypes.StringType, problems);
        boolean generated = responseBody < 0;
        ResultColumns c = new ResultColumns(
                required(schema, "custom_id", DataTypes.StringType, true, problems),
                required(schema, "generated_text", DataTypes.StringType, generated, problems),
                required(schema, "finish_reason", DataTypes.StringType, generated, problems),
                required(schema, "num_input_tokens", DataTypes.IntegerType, generated, problems),
                required(schema, "num_generated_tokens", DataTypes.IntegerType, generated, problems),
                required(schema, "error", DataTypes.StringType, generated, problems),
                index(schema, "url", DataTypes.StringType, problems),
                index(schema, "model", DataTypes.StringType, problems),
                index(schema, "file", DataTypes.StringType, problems),
                index(schema, "line", DataTypes.LongType, problems),
                index(schema, "line_error", DataTypes.StringType, problems),
                index(schema, "body_error", DataTypes.StringType, problems),
                index(schema, "status_code", DataTypes.IntegerType, problems),
                index(schema, "error_code", DataTypes.StringType, problems),
                responseBody);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("format(\"openai-batch\") writes llmMap results: " + String.join("; ",
                    problems) + " (the DataFrame has " + String.join(", ", schema.fieldNames()) + ")");
        }
        return c;
    }

    private static int required(StructType schema, String name, DataType type, boolean required,
                                List<String> problems) {
        int i = index(schema, name, type, problems);
        if (i < 0 && required) {
            problems.add("column " + name + " (" + type.simpleString() + ") is missing");
        }
        return i;
    }

    private static int index(StructType schema, String name, DataType type, List<String> problems) {
        StructField[] fs = schema.fields();
        for (int i = 0; i < fs.length; i++) {
            if (fs[i].name().equals(name)) {
                DataType t = fs[i].dataType();
                boolean ok = t.equals(type) || (type.equals(DataTypes.LongType) && t.equals(DataTypes.IntegerType));
                if (!ok) {
                    problems.add("column " + name + " must be " + type.simpleString() + ", not " + t.simpleString());
                }
                return i;
            }
        }
        return -1;
    }
}
