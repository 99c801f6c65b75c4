package io.stoker.shell;

import io.stoker.spark.cli.LocalSparkHome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/stoker shell} and {@code bin/stoker sql} as real child processes: their main classes on this module's
 * classpath with the JVM flags bin/stoker passes, stdin and arguments as a user gives them, exit codes and output
 * checked.
 */
class CommandProcessTest {
    /** What a finished child process left. */
    record Run(int exit, String out, String err) {
    }

    private static Run run(String main, String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LocalSparkHome.javaExecutable());
        cmd.addAll(LocalSparkHome.jvmOptions());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main);
        cmd.addAll(List.of(args));
        Path dir = Files.createDirectories(Path.of("target", "process-test"));
        Path out = Files.createTempFile(dir, "out-", ".txt");
        Path err = Files.createTempFile(dir, "err-", ".txt");
        Path in = Files.writeString(Files.createTempFile(dir, "in-", ".txt"), stdin);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(in.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).directory(dir.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        if (!p.waitFor(200, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError(main + " did not finish in 200 s; stderr in " + err.toAbsolutePath());
        }
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    private static final String[] LOCAL = {"--master", "local[2]", "--conf", "spark.ui.enabled=false",
        "--conf", "spark.driver.host=127.0.0.1"};

    @Test
    @Timeout(180)
    void shellShouldRunAScriptFromStdinPrintingOnlyWhatItPrints() throws Exception {
        String model = TinyModel.path();
        String script = """
                val xs = spark.range(0, 10, 1, 2).map(_ * 3).collect().sorted
                println("xs=" + xs.mkString(","))
                val out = spark.range(0, 4).selectExpr("id", "concat('question ', id) AS q")
                  .llmMap(Llm.model("%s").maxTokens(2), prompt = col("q"))
                println("columns=" + out.columns.mkString(","))
                println("answered=" + out.filter($"error".isNull && $"num_generated_tokens" > 0).count())
                """.formatted(model);
        Run r = run(ShellCommand.class.getName(), script, LOCAL);
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        assertThat(r.out().strip().lines()).containsExactly(
                "xs=0,3,6,9,12,15,18,21,24,27",
                "columns=id,q,generated_text,num_input_tokens,num_generated_tokens,finish_reason,"
                        + "time_to_first_token_ms,time_taken_ms,error",
                "answered=4");
    }

    /** Classes the shell compiles reach executor JVMs (local-cluster, relaunched with a fake SPARK_HOME). */
    @Test
    @Timeout(240)
    void shellShouldShipItsClassesToExecutorJvmsOnLocalCluster() throws Exception {
        String script = """
                case class Sq(n: Long, sq: Long)
                val ds = spark.range(0, 20, 1, 2).map(n => Sq(n, n * n))
                println("sum=" + ds.map(_.sq).reduce(_ + _))
                println("executors=" + ds.rdd.map(_ => org.apache.spark.SparkEnv.get.executorId).distinct().collect().mkString(","))
                """;
        Run r = run(ShellCommand.class.getName(), script, "--master", "local-cluster[1,1,1024]",
                "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.executor.extraJavaOptions=-XX:TieredStopAtLevel=1");
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        assertThat(r.out().strip().lines()).containsExactly("sum=2470", "executors=0");
    }

    @Test
    @Timeout(180)
    void shellShouldExitNonZeroAtTheFailingLineWithoutAStackTrace() throws Exception {
        String script = "println(\"before\")\nval rows = spark.sql(\"SELECT * FROM no_such_table\").collect()\n"
                + "println(\"after\")\n";
        Run r = run(ShellCommand.class.getName(), script, LOCAL);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out().strip()).isEqualTo("before");
        assertThat(r.err()).contains("stoker shell: the script failed at <stdin>, line 2:")
                .contains("no_such_table").doesNotContain("\tat ").doesNotContain("  at ");
    }

    @Test
    @Timeout(180)
    void sqlShouldRunStatementsAndPrintEachResultAsATable() throws Exception {
        String model = TinyModel.path();
        Run r = run(SqlCommand.class.getName(), "", LOCAL[0], LOCAL[1], LOCAL[2], LOCAL[3], LOCAL[4], LOCAL[5],
                "-e", "CREATE TEMP VIEW t AS SELECT * FROM VALUES (1, 'what is 2+3?'), (2, ''), (3, 'hi; there')"
                        + " AS v(id, q);\n"
                        + "SELECT id, r.num_generated_tokens > 0 AS answered, r.error IS NOT NULL AS failed FROM"
                        + " (SELECT id, llm_generate(q, 'model', '" + model + "', 'max_tokens', 2) AS r FROM t)"
                        + " ORDER BY id;",
                "-e", "SELECT count(*) AS n FROM t");
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        assertThat(r.out().strip().lines()).containsExactly(
                "+---+--------+------+",
                "|id |answered|failed|",
                "+---+--------+------+",
                "|1  |true    |false |",
                "|2  |false   |true  |",
                "|3  |true    |false |",
                "+---+--------+------+",
                "",
                "+---+",
                "|n  |",
                "+---+",
                "|3  |",
                "+---+");
    }

    @Test
    @Timeout(180)
    void sqlShouldStopAtTheFirstFailingStatementNamingIt() throws Exception {
        Run r = run(SqlCommand.class.getName(), "SELECT 1 AS one;\n\nSELECT llm_generate(1, 'model', 'x') AS r;\n"
                + "SELECT 3 AS three", LOCAL);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("|one|").doesNotContain("three");
        assertThat(r.err()).contains("stoker sql: statement 2 (<stdin>, line 3) failed:")
                .contains("must be the prompt (string) or the messages").doesNotContain("\tat ");
    }

    @Test
    void commandsShouldRefuseBadOptionsWithExitCode2() throws Exception {
        assertThat(SqlCommand.run(new String[] {"--max-rows", "zero"})).isEqualTo(2);
        assertThat(SqlCommand.run(new String[] {"-f", "target/no-such-file.sql"})).isEqualTo(2);
        assertThat(SqlCommand.run(new String[] {"--bogus"})).isEqualTo(2);
        assertThat(ShellCommand.run(new String[] {"-i", "target/no-such-file.scala"})).isEqualTo(2);
        Path notANotebook = Files.writeString(Files.createDirectories(Path.of("target")).resolve("plain.scala"),
                "val x = 1\n");
        assertThat(ShellCommand.run(new String[] {"--notebook", notANotebook.toString()})).isEqualTo(2);
    }
}
