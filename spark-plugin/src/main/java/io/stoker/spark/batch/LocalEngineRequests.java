package io.stoker.spark.batch;

import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.List;
import java.util.stream.Collectors;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

/**
 * Answers request rows (of {@link RequestSchema}) with llmMap and returns the results columns the writer takes
 * ({@link ResultColumns}). Chat rows go through one call (messages, the model's chat template), completion rows
 * through another (the prompt as raw text); both share the executor's engines. Rows that cannot be answered get
 * their error without reaching the model: a line or body error, a model name this batch does not serve (404,
 * {@code model_not_found}, as vLLM answers), or body fields the local engine would silently ignore (400, naming them).
 * Each row's sampling fields override the call's defaults. Input order is kept within each partition.
 */
final class LocalEngineRequests {
    /** Body fields that do not change what the engine generates. */
    static final List<String> IGNORED_FIELDS = List.of("user", "metadata", "store", "service_tier");

    private LocalEngineRequests() {
    }

    /** The three kinds of rows, by how they are answered: {@link #BRANCH} values. */
    static final int CHAT = 0;
    static final int COMPLETIONS = 1;
    static final int REFUSED = 2;
    /** The column {@link #classify} adds: CHAT, COMPLETIONS or REFUSED. */
    static final String BRANCH = "branch";

    /**
     * @param servedModels the names requests may give as their model
     * @return the requests with the error of rows that cannot be answered ({@code local_error}, {@code local_status},
     * {@code local_code}) and their {@link #BRANCH}
     */
    static Dataset<Row> classify(Dataset<Row> requests, List<String> servedModels, boolean localEngine) {
        String served = servedModels.stream().map(LocalEngineRequests::sqlString).collect(Collectors.joining(", "));
        String ignored = IGNORED_FIELDS.stream().map(LocalEngineRequests::sqlString).collect(Collectors.joining(", "));
        String unsupported = "filter(other_fields, f -> NOT array_contains(array(" + ignored + "), f))";
        Column valid = col("line_error").isNull().and(col("body_error").isNull());
        Column unknownModel = col("model").isNotNull().and(expr("NOT array_contains(array(" + served + "), model)"));
        Column localError = when(valid.and(unknownModel), expr("concat('The model `', model, '` does not exist;"
                + " this batch serves ', " + sqlString(String.join(", ", servedModels)) + ", ' (name more served"
                + " models, e.g. --served-model-name ', model, ')')"))
                .when(lit(localEngine).and(valid).and(expr("size(" + unsupported + ") > 0")), expr("concat('body field(s) ',"
                        + " array_join(transform(" + unsupported + ", f -> concat('body.', f)), ', '), ' not"
                        + " supported by the local engine (it would ignore them); remove them, or send the batch to"
                        + " an OpenAI-compatible server (--base-url)')"));
        Column statusCode = when(valid.and(unknownModel), lit(404)).otherwise(lit(400));
        Column errorCode = when(valid.and(unknownModel), lit("model_not_found"));
        Dataset<Row> c = requests.withColumn("local_error", localError)
                .withColumn("local_status", statusCode).withColumn("local_code", errorCode);
        Column ready = valid.and(col("local_error").isNull());
        return c.withColumn(BRANCH, when(ready.and(col("url").equalTo(RequestSchema.CHAT_URL)), lit(CHAT))
                .when(ready.and(col("url").equalTo(RequestSchema.COMPLETIONS_URL)), lit(COMPLETIONS))
                .otherwise(lit(REFUSED)));
    }

    /**
     * @param classified   the output of {@link #classify}
     * @param branch       which rows: CHAT (one llmMap call on the messages, with the model's chat template),
     *                     COMPLETIONS (one on the prompt as raw text) or REFUSED (their errors, no model)
     * @param llm          the call: model, defaults and engine options
     * @param servedModels the names requests may give as their model (a request without one gets the first)
     * @return the branch's results columns; each branch is written by its own job (a union of two llmMap calls over
     * one source fails: Spark's analyzer copies one side, and llm_generate's extraction rule refuses the copied
     * LlmEval nodes)
     */
    static Dataset<Row> answer(Dataset<Row> classified, int branch, Llm llm, List<String> servedModels,
                               boolean localEngine) {
        Column model = coalesce(col("model"), lit(servedModels.get(0)));
        Dataset<Row> rows = classified.filter(col(BRANCH).equalTo(branch));
        if (branch == REFUSED) {
            return rows.select(col("custom_id"), col("url"), model.as("model"), col("file"), col("line"),
                    col("line_error"), col("body_error"), lit(null).cast("string").as("generated_text"),
                    lit("error").as("finish_reason"), lit(0).as("num_input_tokens"),
                    lit(0).as("num_generated_tokens"), col("local_error").as("error"),
                    col("local_status").as("status_code"), col("local_code").as("error_code"));
        }
        if (!localEngine) {
            // an OpenAI-compatible server: the body goes through as is and its answer is written as it came
            Llm http = llm.endpoint(branch == CHAT ? "chat" : "completions").returnRawResponse(true)
                    .returnHttpStatus(true);
            Dataset<Row> answered = branch == CHAT
                    ? rows.transform(Stoker.llm(http).messages(col("messages")).sampling(col("body")))
                    : rows.transform(Stoker.llm(http).prompt(col("prompt")).sampling(col("body")));
            return answered.select(col("custom_id"), col("url"), model.as("model"), col("file"), col("line"),
                    col("line_error"), col("body_error"), col("generated_text"), col("finish_reason"),
                    col("num_input_tokens"), col("num_generated_tokens"), col("error"),
                    coalesce(col("http_status"), lit(500)).as("status_code"),
                    lit(null).cast("string").as("error_code"), col("raw_response").as("response_body"));
        }
        Dataset<Row> answered = branch == CHAT
                ? rows.transform(Stoker.llm(llm).messages(col("messages")).sampling(col("sampling")))
                : rows.transform(Stoker.llm(llm.chatTemplate(false)).prompt(col("prompt")).sampling(col("sampling")));
        return answered.select(col("custom_id"), col("url"), model.as("model"), col("file"), col("line"),
                col("line_error"), col("body_error"), col("generated_text"), col("finish_reason"),
                col("num_input_tokens"), col("num_generated_tokens"), col("error"),
                when(col("error").isNull(), lit(200)).otherwise(lit(400)).as("status_code"),
                lit(null).cast("string").as("error_code"));
    }

    private static String sqlString(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
