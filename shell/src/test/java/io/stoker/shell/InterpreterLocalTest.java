package io.stoker.shell;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import scala.Option;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The shell's interpreter, script runner and notebook runner in this JVM, on a local[2] session started as the
 * shell starts it (plugin on, REPL classes served to executors).
 */
@Timeout(300)
class InterpreterLocalTest {
    private static SparkSession spark;
    private static StokerInterpreter interpreter;
    private static final ByteArrayOutputStream CONSOLE = new ByteArrayOutputStream();
    private static final StringWriter MESSAGES = new StringWriter();

    @BeforeAll
    static void start() throws Exception {
        Path classes = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "repl-classes-");
        spark = ShellSessions.start("InterpreterLocalTest", new SessionOptions("local[2]", Map.of(
                "spark.ui.enabled", "false",
                "spark.driver.host", "127.0.0.1",
                "spark.sql.shuffle.partitions", "2",
                "spark.sql.warehouse.dir", Path.of("target", "spark-warehouse").toAbsolutePath().toString()),
                false, List.of()), classes);
        interpreter = new StokerInterpreter(classes, new PrintStream(CONSOLE, true, StandardCharsets.UTF_8),
                new PrintWriter(MESSAGES, true), false, false, false);
        interpreter.start(spark);
    }

    @AfterAll
    static void stop() {
        if (interpreter != null) {
            interpreter.close();
        }
        if (spark != null) {
            spark.stop();
        }
    }

    @BeforeEach
    void clear() {
        CONSOLE.reset();
        MESSAGES.getBuffer().setLength(0);
    }

    private static Option<ScriptRunner.Failure> script(String text) {
        return new ScriptRunner(interpreter).run(new BufferedReader(new StringReader(text)), "test.scala");
    }

    private static String console() {
        return CONSOLE.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldRunClosuresAndCaseClassesDefinedInTheShellOnExecutors() {
        Option<ScriptRunner.Failure> f = script("""
                case class Q(id: Long, text: String)
                val ds = spark.range(0, 50, 1, 4).map(i => Q(i, "q" + i))
                println("sum=" + ds.map(_.id * 2).reduce(_ + _))
                println("texts=" + ds.filter(_.text.endsWith("7")).count())
                """);
        assertThat(f.isEmpty()).as("failure: %s; messages: %s", f, MESSAGES).isTrue();
        assertThat(console()).contains("sum=2450").contains("texts=5");
    }

    @Test
    void shouldJoinMethodChainsSplitAcrossLines() {
        Option<ScriptRunner.Failure> f = script("""
                val evens = spark.range(0, 10)
                  .filter("id % 2 = 0")

                  .selectExpr("id * 10 AS x")
                println(evens.collect().map(_.getLong(0)).mkString(","))
                """);
        assertThat(f.isEmpty()).as("failure: %s; messages: %s", f, MESSAGES).isTrue();
        assertThat(console()).contains("0,20,40,60,80");
    }

    @Test
    void shouldStopAtTheFirstFailingStatementNamingItsLineAndCause() {
        Option<ScriptRunner.Failure> f = script("""
                println("one")
                // a comment

                val n = Seq(1, 2).map(_ / 0)
                println("two")
                """);
        assertThat(f.isDefined()).isTrue();
        assertThat(f.get().line()).isEqualTo(4);
        assertThat(f.get().message()).isEqualTo("ArithmeticException: / by zero");
        assertThat(f.get().cause()).isInstanceOf(ArithmeticException.class);
        assertThat(f.get().toString()).isEqualTo("test.scala, line 4: ArithmeticException: / by zero");
        assertThat(console()).contains("one").doesNotContain("two");
    }

    @Test
    void shouldReportACompileErrorWithTheStatementAndTheCompilersMessage() {
        Option<ScriptRunner.Failure> f = script("val ok = 1\nval s: Int = \"text\"\nprintln(ok)\n");
        assertThat(f.isDefined()).isTrue();
        assertThat(f.get().line()).isEqualTo(2);
        assertThat(f.get().cause()).isNull();
        assertThat(f.get().message()).contains("`val s: Int = \"text\"` does not compile");
        assertThat(MESSAGES.toString()).contains("type mismatch");
        assertThat(script("val unfinished = Seq(1,\n  2,\n").get().message())
                .isEqualTo("the statement is incomplete at the end of the script");
    }

    @Test
    void shouldHaveLlmMapAndLlmGenerateReadyInTheShell() {
        String model = TinyModel.path();
        Option<ScriptRunner.Failure> f = script("""
                val qs = spark.range(0, 6, 1, 2).selectExpr("id", "CASE WHEN id = 4 THEN '' ELSE concat('q', id) END AS q")
                val out = qs.llmMap(Llm.model("%1$s").maxTokens(3), prompt = col("q"))
                println("rows=" + out.count() + " errors=" + out.filter($"error".isNotNull).select("id").as[Long].collect().mkString(","))
                qs.createOrReplaceTempView("qs")
                val viaSql = sql("SELECT id, llm_generate(q, 'model', '%1$s', 'max_tokens', 3).error AS e FROM qs")
                println("sql errors=" + viaSql.filter("e IS NOT NULL").select("id").as[Long].collect().mkString(","))
                """.formatted(model));
        assertThat(f.isEmpty()).as("failure: %s; messages: %s", f, MESSAGES).isTrue();
        assertThat(console()).contains("rows=6 errors=4").contains("sql errors=4");
    }

    @Test
    void shouldRunANotebookCellByCellAndNameTheCellThatFails() {
        String ok = String.join("\n",
                "// Databricks notebook source",
                "val df = spark.range(0, 4).selectExpr(\"id\", \"id * id AS sq\")",
                "df.createOrReplaceTempView(\"squares\")",
                "// COMMAND ----------",
                "// MAGIC %md",
                "// MAGIC Some *text*.",
                "// COMMAND ----------",
                "// DBTITLE 1,Sum",
                "// MAGIC %sql",
                "// MAGIC CREATE OR REPLACE TEMP VIEW big AS SELECT * FROM squares WHERE sq > 1;",
                "// MAGIC SELECT sum(sq) AS total, count(*) AS n FROM big",
                "// COMMAND ----------",
                "println(\"views: \" + spark.catalog.listTables().count())",
                "");
        try (NotebookRunner runner = new NotebookRunner(spark, 100, false)) {
            List<NotebookRunner.CellResult> results = runner.run(DatabricksNotebook.parse("ok.scala", ok));
            assertThat(results).hasSize(4);
            NotebookRunner.CellResult sum = results.get(2);
            assertThat(sum.rows()).extracting(r -> r.getLong(0) + "/" + r.getLong(1)).containsExactly("13/2");
            assertThat(sum.output()).contains("|total|n  |").contains("|13   |2  |");
            assertThat(results.get(3).output()).contains("views: ");

            String broken = ok.replace("FROM big", "FROM missing_view");
            assertThatThrownBy(() -> runner.run(DatabricksNotebook.parse("broken.scala", broken)))
                    .isInstanceOf(NotebookCellException.class)
                    .hasMessageContaining("broken.scala: cell 3 (sql, \"Sum\", line 9) failed: statement at cell line 2")
                    .hasMessageContaining("missing_view");
            String python = ok + "// COMMAND ----------\n// MAGIC %python\n// MAGIC print(1)\n";
            assertThatThrownBy(() -> runner.run(DatabricksNotebook.parse("py.scala", python)))
                    .hasMessageContaining("cell 5 (python, line 15) failed: %python cells are not run by this runner");
            String scalaError = ok.replace("println(\"views: \"", "println(missingName + \"views: \"");
            assertThatThrownBy(() -> runner.run(DatabricksNotebook.parse("s.scala", scalaError)))
                    .hasMessageContaining("s.scala: cell 4 (scala, line 13) failed: it does not compile")
                    .hasMessageContaining("not found: value missingName");
        }
        List<Row> squares = spark.table("squares").collectAsList();
        assertThat(squares).hasSize(4);
    }
}
