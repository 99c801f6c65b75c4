package io.stoker.spark.llm;

import io.stoker.spark.testing.LocalSpark;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * LLM results joined with each other over the same input (the analyzer then copies the plan's LlmEval nodes to
 * give one side new attribute ids): the query resolves and returns one row per id. Found running the example
 * notebook, which compares llm_generate's answers with llmMap's.
 */
@Timeout(180)
class LlmJoinLocalTest {
    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start("LlmJoinLocalTest", Map.of());
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    @Test
    void shouldJoinSqlAndDataFrameLlmResultsOverTheSameInput() {
        String model = TinyModels.path();
        Dataset<Row> base = spark.range(0, 5, 1, 2).selectExpr("id", "concat('q', id) AS q");
        base.createOrReplaceTempView("base");
        base.transform(io.stoker.spark.Stoker.llm(Llm.model(model).maxTokens(3)).prompt(col("q")))
                .createOrReplaceTempView("scala_answers");
        spark.sql("CREATE OR REPLACE TEMP VIEW sql_answers AS SELECT id, llm_generate(q, 'model', '" + model
                + "', 'max_tokens', 3).generated_text AS answer FROM base");
        List<Row> same = spark.sql("SELECT count(*), count_if(s.answer <=> a.generated_text) FROM sql_answers s"
                + " JOIN scala_answers a USING (id)").collectAsList();
        assertThat(same.get(0).getLong(0)).isEqualTo(5);
        assertThat(same.get(0).getLong(1)).as("greedy: SQL and DataFrame answers are equal").isEqualTo(5);
        assertThat(spark.sql("SELECT * FROM sql_answers s1 JOIN sql_answers s2 USING (id)").count()).isEqualTo(5);
    }
}
