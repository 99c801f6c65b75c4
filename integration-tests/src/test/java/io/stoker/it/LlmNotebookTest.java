package io.stoker.it;

import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;
import io.stoker.shell.DatabricksNotebook;
import io.stoker.shell.NotebookRunner;
import io.stoker.shell.SessionOptions;
import io.stoker.shell.ShellSessions;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs {@code examples/notebooks/llm_on_spark.scala} cell by cell on local Spark, as {@code bin/stoker shell
 * --notebook} does (Scala cells through the shell's Scala interpreter, SQL cells through {@code spark.sql}), with a
 * tiny random model in place of the demo model, so the notebook cannot rot: a cell that fails fails this test
 * naming the cell. The model prints gibberish, so the checks are about rows and errors, not answers.
 */
class LlmNotebookTest {
    private static final Path NOTEBOOK = Path.of(System.getProperty("stoker.it.notebooks", "../examples/notebooks"),
            "llm_on_spark.scala");

    @Test
    @Timeout(240)
    void shouldRunEveryCellOfTheLlmNotebookWithErrorsOnlyOnTheBadRow() throws Exception {
        Path model = Path.of("target", "notebook-model").toAbsolutePath();
        if (!Files.exists(model.resolve("tokenizer_config.json"))) {
            RandomModelWriter.writeHf(new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 2, 4, 2, 384, 256,
                    false, false, 11), model, DType.F32);
        }
        Path classes = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "notebook-classes-");
        Map<String, String> conf = new HashMap<>();
        conf.put("spark.ui.enabled", "false");
        conf.put("spark.driver.host", "127.0.0.1");
        conf.put("spark.sql.shuffle.partitions", "2");
        conf.put("spark.sql.warehouse.dir", Path.of("target", "spark-warehouse").toAbsolutePath().toString());
        conf.put("stoker.notebook.model", model.toString());
        SparkSession spark = ShellSessions.start("LlmNotebookTest", new SessionOptions("local[2]", conf, false,
                List.of()), classes);
        try (NotebookRunner runner = new NotebookRunner(spark, 100, false)) {
            DatabricksNotebook nb = DatabricksNotebook.parse(NOTEBOOK.toString(), Files.readString(NOTEBOOK));
            Map<String, NotebookRunner.CellResult> byTitle = new HashMap<>();
            List<NotebookRunner.CellResult> results = runner.run(nb, r -> {
                byTitle.put(r.cell().title(), r);
                System.out.println("--- " + r.cell().describe() + ", " + r.millis() + " ms\n" + r.output());
            });
            assertThat(results).hasSameSizeAs(nb.cells());
            assertThat(nb.cells()).extracting(DatabricksNotebook.Cell::kind).contains(DatabricksNotebook.Kind.SCALA,
                    DatabricksNotebook.Kind.SQL, DatabricksNotebook.Kind.MARKDOWN);

            assertThat(byTitle.get("Choose the model").output()).contains("model: " + model);

            // llmMap: one row per question, an answer for each good row, an error on the bad row (id 6) only
            List<Row> answers = spark.table("answers").orderBy("id").collectAsList();
            assertThat(answers).hasSize(6);
            for (Row r : answers) {
                int id = r.getInt(r.fieldIndex("id"));
                String error = r.getAs("error");
                if (id == 6) {
                    assertThat(error).contains("prompt is null");
                    assertThat(r.<String>getAs("finish_reason")).isEqualTo("error");
                } else {
                    assertThat(error).as("row %d", id).isNull();
                    assertThat(r.<Integer>getAs("num_generated_tokens")).as("row %d", id).isBetween(1, 16);
                }
            }

            // llm_generate in SQL: the same rows and errors, and (greedy decoding) the same answers as llmMap
            List<Row> sqlRows = byTitle.get("Ask from SQL: llm_generate").rows();
            assertThat(sqlRows).hasSize(6);
            assertThat(sqlRows).filteredOn(r -> r.getAs("error") != null).extracting(r -> r.<Integer>getAs("id"))
                    .containsExactly(6);
            Row same = byTitle.get("Greedy decoding: SQL and Scala give the same answers").rows().get(0);
            assertThat(same.getLong(0)).isEqualTo(6);
            assertThat(same.getLong(1)).as("rows whose SQL answer equals llmMap's").isEqualTo(6);

            List<Row> failed = byTitle.get("Which rows failed, and why").rows();
            assertThat(failed).extracting(r -> r.<Integer>getAs("id")).containsExactly(6);
            assertThat(byTitle.get("The job itself did not fail").output()).contains("rows: 6, errored: 1");
            assertThat(byTitle.get("Or fail the job at the first bad row").output()).contains("failed as asked:")
                    .contains("fail_on_error=true").contains("prompt is null");
        } finally {
            spark.stop();
        }
    }
}
