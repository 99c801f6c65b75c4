package io.stoker.spark.llm;

import io.stoker.llm.batch.EngineDeadException;
import io.stoker.spark.Stoker;
import io.stoker.spark.executor.ExecutorRuntime;
import io.stoker.spark.executor.ExecutorRuntimes;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.DriverState;
import io.stoker.spark.testing.LocalSpark;
import org.apache.spark.SparkEnv;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** llmMap and llm_generate on local[2] (one executor in this JVM, two task threads) with a tiny random model. */
@Timeout(300)
class LlmMapLocalTest {
    private static SparkSession spark;
    private static String model;

    @BeforeAll
    static void start() {
        model = TinyModels.path();
        spark = LocalSpark.start("LlmMapLocalTest", Map.of("spark.task.maxFailures", "1"));
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    @org.junit.jupiter.api.BeforeEach
    void activeSession() {
        SparkSession.setActiveSession(spark);
    }

    private static Llm tiny() {
        return Llm.model(model).maxTokens(4);
    }

    @Test
    void shouldLoadNoGpuClassForCpuEnginesAndExplainWhyDeviceCudaCannotRun() throws Exception {
        Dataset<Row> in = spark.range(0, 6, 1, 2).selectExpr("id", "concat('question ', id) AS q");
        assertThat(in.transform(Stoker.llm(tiny()).prompt(col("q"))).select("error").collectAsList())
                .hasSize(6).allSatisfy(r -> assertThat(r.isNullAt(0)).isTrue());
        java.lang.reflect.Method loaded = ClassLoader.class.getDeclaredMethod("findLoadedClass", String.class);
        loaded.setAccessible(true);
        ClassLoader cl = LlmProcessor.class.getClassLoader();
        assertThat(loaded.invoke(cl, EngineActor.class.getName())).as("the check sees loaded classes").isNotNull();
        for (String c : List.of("io.stoker.spark.llm.CudaLanes", "io.stoker.runtime.cuda.Cuda",
                "io.stoker.runtime.cuda.CudaException", "io.stoker.llm.backend.cuda.CudaBackend")) {
            assertThat(loaded.invoke(cl, c)).as(c + " loaded by a CPU-only llmMap (device=auto, no GPUs)").isNull();
        }
        if (io.stoker.runtime.cuda.Cuda.isAvailable()) {
            return; // a machine with a GPU runs device=cuda
        }
        assertThatThrownBy(() -> in.transform(Stoker.llm(tiny().device("cuda")).prompt(col("q"))).collectAsList())
                .hasMessageContaining("LLM option 'device' = 'cuda', but executor driver cannot use CUDA")
                .hasMessageContaining("device=cpu");
    }

    @Test
    void shouldGenerateOneRowPerInputRowFromSqlAndShowTheOperatorInExplain() {
        spark.range(0, 20, 1, 3).selectExpr("id", "concat('question ', id) AS q").createOrReplaceTempView("t");
        Dataset<Row> out = spark.sql("SELECT id, llm_generate(q, 'model', '" + model + "', 'max_tokens', 5) AS r"
                + " FROM t");
        assertThat(out.queryExecution().optimizedPlan().toString()).contains("LlmEval");
        assertThat(out.queryExecution().executedPlan().toString()).contains("LlmGenerate [model=" + model);
        List<Row> rows = out.orderBy("id").collectAsList();
        assertThat(rows).hasSize(20);
        for (Row r : rows) {
            Row res = r.getStruct(1);
            assertThat(res.<String>getAs("error")).isNull();
            assertThat(res.<Integer>getAs("num_generated_tokens")).isBetween(1, 5);
            assertThat(res.<Integer>getAs("num_input_tokens")).isGreaterThan(3);
            assertThat(res.<String>getAs("finish_reason")).isIn("stop", "length");
            assertThat(res.<Double>getAs("time_taken_ms")).isGreaterThan(0.0);
        }
    }

    @Test
    void shouldGiveTheSameRowsThroughJavaSqlAndExpr() {
        Dataset<Row> in = spark.range(0, 12, 1, 2).selectExpr("id", "concat('q', id) AS q");
        Dataset<Row> java = in.transform(Stoker.llm(tiny()).prompt(col("q")));
        assertThat(java.columns()).containsExactly("id", "q", "generated_text", "num_input_tokens",
                "num_generated_tokens", "finish_reason", "time_to_first_token_ms", "time_taken_ms", "error");
        in.createOrReplaceTempView("j");
        List<Row> sql = spark.sql("SELECT id, llm_generate(q, 'model', '" + model + "', 'max_tokens', 4)"
                + ".generated_text AS g FROM j ORDER BY id").collectAsList();
        List<Row> viaExpr = in.select(col("id"), expr("llm_generate(q, 'model', '" + model + "', 'max_tokens', 4)")
                .getField("generated_text").as("g")).orderBy("id").collectAsList();
        List<Row> viaJava = java.orderBy("id").select("id", "generated_text").collectAsList();
        assertThat(viaJava).isEqualTo(sql);
        assertThat(viaExpr).isEqualTo(sql);
    }

    /** 1000 rows, 100 of them bad in five ways: exactly 1000 rows back, errors on exactly the bad ones. */
    @Test
    void shouldReturnEveryRowWithErrorsOnExactlyTheBadRows() {
        String template = "{% for m in messages %}{% if m.content == 'FORBIDDEN' %}"
                + "{{ raise_exception('this content is not allowed') }}{% endif %}<|im_start|>{{ m.role }}\n"
                + "{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
                + "{% endif %}";
        Dataset<Row> in = spark.range(0, 1000, 1, 4).selectExpr("id",
                "CASE id % 50 WHEN 7 THEN NULL WHEN 13 THEN '' WHEN 21 THEN repeat('long text ', 100)"
                        + " WHEN 41 THEN 'FORBIDDEN' ELSE concat('question ', id) END AS q",
                "named_struct('top_p', CASE WHEN id % 50 = 33 THEN 1.5D ELSE 0.9D END, 'temperature', 0.7D)"
                        + " AS params");
        Dataset<Row> out = in.transform(Stoker.llm(tiny().maxModelLen(96).chatTemplateOverride(template).seed(5))
                .prompt(col("q")).sampling(col("params")));
        List<Row> rows = out.collectAsList();
        assertThat(rows).hasSize(1000);
        Map<Long, String> errors = new TreeMap<>();
        Set<Long> ids = new java.util.HashSet<>();
        for (Row r : rows) {
            ids.add(r.getLong(0));
            if (r.getAs("error") != null) {
                errors.put(r.getLong(0), r.getAs("error"));
                assertThat(r.<String>getAs("finish_reason")).isEqualTo("error");
                assertThat(r.<String>getAs("generated_text")).isNull();
            } else {
                assertThat(r.<String>getAs("generated_text")).isNotNull();
            }
        }
        assertThat(ids).hasSize(1000);
        assertThat(errors).hasSize(100);
        errors.forEach((id, e) -> {
            switch ((int) (id % 50)) {
                case 7 -> assertThat(e).contains("prompt is null");
                case 13 -> assertThat(e).contains("prompt is empty");
                case 21 -> assertThat(e).contains("tokens").contains("context length 96");
                case 33 -> assertThat(e).contains("top_p=1.5");
                case 41 -> assertThat(e).contains("this content is not allowed");
                default -> throw new AssertionError("row " + id + " should be fine but has error " + e);
            }
        });
        assertThat(Plans.metric(out, LlmSqlMetrics.ERRORED)).isEqualTo(100);
        assertThat(Plans.metric(out, LlmSqlMetrics.ROWS)).isEqualTo(1000);
        assertThat(Plans.metric(out, LlmSqlMetrics.GENERATED_TOKENS)).isGreaterThanOrEqualTo(900);
    }

    @Test
    void shouldReportMalformedMessagesPerRow() {
        Dataset<Row> in = spark.sql("SELECT 1 AS id, array(named_struct('role', 'user', 'content', 'hi')) AS chat"
                + " UNION ALL SELECT 2, array(named_struct('role', CAST(NULL AS STRING), 'content', 'x'))"
                + " UNION ALL SELECT 3, CAST(array() AS array<struct<role:string,content:string>>)"
                + " UNION ALL SELECT 4, array(named_struct('role', 'system', 'content', 'Be brief.'),"
                + " named_struct('role', 'user', 'content', CAST(NULL AS STRING)))");
        List<Row> rows = in.transform(Stoker.llm(tiny().systemPrompt("Answer briefly.")).messages(col("chat")))
                .orderBy("id").collectAsList();
        assertThat(rows).hasSize(4);
        assertThat(rows.get(0).<String>getAs("error")).isNull();
        assertThat(rows.get(1).<String>getAs("error")).contains("message 0 has no role");
        assertThat(rows.get(2).<String>getAs("error")).contains("messages are empty");
        assertThat(rows.get(3).<String>getAs("error")).contains("message 1 (role user) has no content");
    }

    @Test
    void shouldFailTheJobAtTheFirstBadRowUnderFailOnError() {
        Dataset<Row> in = spark.range(0, 40, 1, 1).selectExpr("id",
                "CASE WHEN id = 17 THEN '' ELSE concat('q', id) END AS q");
        assertThatThrownBy(() -> in.transform(Stoker.llm(tiny().failOnError(true)).prompt(col("q"))).collectAsList())
                .hasMessageContaining("row 17 of partition 0").hasMessageContaining("fail_on_error=true")
                .hasMessageContaining("prompt is empty");
    }

    @Test
    void shouldGiveTheSameSeededOutputWhateverThePartitioning() {
        Dataset<Row> in = spark.range(0, 60, 1, 1).selectExpr("id", "concat('prompt number ', id % 20) AS q");
        Llm sampled = Llm.model(model).maxTokens(8).temperature(0.9).topP(0.95).seed(1234).returnTokenIds(true);
        Map<Long, List<Integer>> one = tokens(in.transform(Stoker.llm(sampled).prompt(col("q"))));
        Map<Long, List<Integer>> five = tokens(in.repartition(5).transform(Stoker.llm(sampled.batchRows(3)
                .maxInFlightPerTask(7)).prompt(col("q"))));
        assertThat(five).isEqualTo(one);
        // equal prompts (id and id + 20) get equal outputs; different prompts are not all equal
        assertThat(one.get(3L)).isEqualTo(one.get(23L)).isEqualTo(one.get(43L));
        assertThat(new java.util.HashSet<>(one.values())).hasSizeGreaterThan(10);
        Map<Long, List<Integer>> otherSeed = tokens(in.transform(Stoker.llm(sampled.seed(99)).prompt(col("q"))));
        assertThat(otherSeed).isNotEqualTo(one);
    }

    private static Map<Long, List<Integer>> tokens(Dataset<Row> df) {
        Map<Long, List<Integer>> m = new TreeMap<>();
        for (Row r : df.select("id", "token_ids").collectAsList()) {
            m.put(r.getLong(0), r.getList(1));
        }
        return m;
    }

    /**
     * pipeline_parallel=2 from SQL on the CPU: one engine over two stage actors (one layer each) gives the single-worker
     * engine's tokens for every row, one row out per row in; more stages than layers is refused, naming the option.
     */
    @Test
    void shouldRunPipelineParallelFromSqlWithTheSingleEnginesTokens() throws Exception {
        Dataset<Row> in = spark.range(0, 12, 1, 3).selectExpr("id", "concat('question ', id) AS q");
        Llm single = tiny().maxTokens(6).option("ignore_eos", true).returnTokenIds(true).device("cpu");
        Map<Long, List<Integer>> reference = tokens(in.transform(Stoker.llm(single).prompt(col("q"))));
        assertThat(reference).hasSize(12).allSatisfy((id, t) -> assertThat(t).hasSize(6));
        in.createOrReplaceTempView("pp");
        String call = "llm_generate(q, 'model', '" + model + "', 'max_tokens', 6, 'ignore_eos', 'true',"
                + " 'return_token_ids', 'true', 'device', 'cpu', 'pipeline_parallel', ";
        List<Row> rows = spark.sql("SELECT id, " + call + "2).token_ids AS t FROM pp").collectAsList();
        assertThat(rows).as("one row out per row in").hasSize(12);
        Map<Long, List<Integer>> pipelined = new TreeMap<>();
        for (Row r : rows) {
            assertThat(pipelined.put(r.getLong(0), r.getList(1))).as("row " + r.getLong(0) + " once").isNull();
        }
        assertThat(pipelined).isEqualTo(reference);
        awaitProcessor(single.pipelineParallel(2).spec());
        List<String> stages = new ArrayList<>();
        for (io.stoker.runtime.actor.ActorHandle<?> a : runtime().runtime().actors()) {
            if (a.isAlive() && a.name().matches("pp\\d+-stage-\\d+")) {
                stages.add(a.name().replaceAll("^pp\\d+-", ""));
            }
        }
        assertThat(stages).as("the engine's pipeline stage actors").containsExactlyInAnyOrder("stage-0", "stage-1");

        assertThatThrownBy(() -> spark.sql("SELECT " + call + "3) FROM pp").collect())
                .hasMessageContaining("LLM option 'pipeline_parallel' = 3, but model " + model + " has 2 layer(s)")
                .hasMessageContaining("use pipeline_parallel of at most 2");
    }

    @Test
    void shouldPruneUnusedCallsAndPushInputFiltersBelowTheCall() {
        Dataset<Row> in = spark.range(0, 30, 1, 2).selectExpr("id", "concat('q', id) AS q", "id * 2 AS unused");
        Dataset<Row> out = in.transform(Stoker.llm(tiny()).prompt(col("q")));
        // a query that never reads the call's columns does not run the model (as Spark drops unused UDFs)
        assertThat(out.select("id").queryExecution().optimizedPlan().toString()).doesNotContain("LlmEval");
        assertThat(out.queryExecution().optimizedPlan().toString()).contains("LlmEval");
        Dataset<Row> filtered = out.filter("id < 10 AND generated_text IS NOT NULL");
        String plan = filtered.queryExecution().optimizedPlan().treeString();
        int llm = plan.indexOf("LlmEval");
        int pushed = plan.indexOf("(id#", llm);
        assertThat(llm).isGreaterThanOrEqualTo(0);
        assertThat(plan.substring(llm)).contains("Filter").contains("< 10");
        assertThat(filtered.count()).isEqualTo(10);
        assertThat(pushed).isGreaterThan(llm);
    }

    @Test
    void shouldRefuseBadOptionsAndClashingColumnsOnTheDriver() {
        Dataset<Row> in = spark.range(0, 3).selectExpr("id", "'x' AS q", "1 AS error");
        assertThatThrownBy(() -> in.transform(Stoker.llm(tiny().topP(1.5).option("max_tokenz", 3)).prompt(col("q"))))
                .isInstanceOf(LlmConfigException.class).hasMessageContaining("top_p=1.5")
                .hasMessageContaining("unknown LLM option 'max_tokenz'; did you mean 'max_tokens'?");
        assertThatThrownBy(() -> in.transform(Stoker.llm(tiny()).prompt(col("q"))))
                .hasMessageContaining("output column 'error' clashes with an input column");
        assertThat(in.transform(Stoker.llm(tiny().outputName("error", "llm_error")).prompt(col("q"))).columns())
                .contains("error", "llm_error");
        in.createOrReplaceTempView("bad");
        assertThatThrownBy(() -> spark.sql("SELECT llm_generate(q, 'model', '" + model + "', 'kv_cache_mb', 'lots')"
                + " FROM bad").collect()).hasMessageContaining("'kv_cache_mb' = 'lots' is not a whole number");
        assertThatThrownBy(() -> spark.sql("SELECT llm_generate(id, 'model', 'x') FROM bad").collect())
                .hasMessageContaining("must be the prompt (string) or the messages");
    }

    /** The engine dies mid-job: tasks fail at once (no hang); the executor builds a new engine; the retry succeeds. */
    @Test
    void shouldFailFastWhenTheEngineDiesThenRebuildItForTheRetry() throws Exception {
        String m2 = model;
        Llm slow = Llm.model(m2).maxTokens(200).option("ignore_eos", true).kvCacheMb(17);
        Dataset<Row> in = spark.range(0, 8, 1, 2).selectExpr("id", "concat('q', id) AS q");
        CompletableFuture<Long> job = CompletableFuture.supplyAsync(() -> {
            SparkSession.setActiveSession(spark);
            return (long) in.transform(Stoker.llm(slow).prompt(col("q"))).collectAsList().size();
        });
        LlmProcessor p = awaitProcessor(slow.spec());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (p.stats().get(0).running() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(p.stats().get(0).running()).as("rows generating when the engine dies").isGreaterThan(0);
        long t0 = System.nanoTime();
        abortEngines(p, new OutOfMemoryError("simulated: engine out of memory"));
        assertThatThrownBy(() -> job.get(60, TimeUnit.SECONDS)).hasMessageContaining("simulated: engine out of memory");
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(30);
        assertThat(p.isHealthy()).isFalse();
        // the next job (as Spark's retry would) gets a rebuilt engine and finishes
        SparkSession.setActiveSession(spark);
        assertThat(in.transform(Stoker.llm(slow.maxTokens(3)).prompt(col("q"))).collectAsList()).hasSize(8);
        assertThat(awaitProcessor(slow.spec())).isNotSameAs(p);
    }

    private static ExecutorRuntime runtime() {
        return ExecutorRuntimes.find(DriverState.forContext(spark.sparkContext()).session(),
                SparkEnv.get().executorId());
    }

    private static LlmProcessor awaitProcessor(LlmSpec spec) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (AutoCloseable s : runtime().services()) {
                if (s instanceof LlmProcessor p && p.key().equals("llm:" + spec.engineKey()) && p.isHealthy()) {
                    return p;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no LLM processor started for " + spec);
    }

    private static void abortEngines(LlmProcessor p, Throwable cause) {
        p.engines().forEach(e -> e.abort(cause));
    }

    /** Rows sharing a long system prompt reuse its KV blocks: far fewer prompt tokens computed, same outputs. */
    @Test
    void shouldReuseTheSharedPrefixAcrossRowsWithPrefixCaching() throws Exception {
        String system = "You answer questions about numbers. " + "Be exact and brief. ".repeat(12);
        Dataset<Row> in = spark.range(0, 48, 1, 2).selectExpr("id", "concat('question ', id % 7) AS q");
        Llm base = Llm.model(model).systemPrompt(system).maxTokens(3).returnTokenIds(true).kvCacheMb(11);
        Map<Long, List<Integer>> cached = tokens(in.transform(Stoker.llm(base).prompt(col("q"))));
        Map<Long, List<Integer>> plain = tokens(in.transform(Stoker.llm(base.prefixCaching(false)).prompt(col("q"))));
        assertThat(cached).isEqualTo(plain);
        long withCache = promptTokensComputed(base.spec());
        long without = promptTokensComputed(base.prefixCaching(false).spec());
        assertThat(without).isGreaterThan(48L * 60);
        assertThat(withCache).as("prompt tokens computed with prefix caching").isLessThan(without / 3);
    }

    private static long promptTokensComputed(LlmSpec spec) throws InterruptedException {
        LlmProcessor p = awaitProcessor(spec);
        long n = 0;
        for (io.stoker.llm.batch.LlmEngine e : p.engines()) {
            n += e.stats().promptTokensComputed();
        }
        return n;
    }

    /** Two models in one application get two processors; three jobs on one model load it once. */
    @Test
    void shouldLoadEachModelOncePerExecutorAcrossJobs() {
        Dataset<Row> in = spark.range(0, 10, 1, 2).selectExpr("id", "concat('q', id) AS q");
        long before = runtime().metrics().snapshot().get(StokerMetrics.LLM_MODEL_LOADS);
        Llm a = tiny().kvCacheMb(9);
        Llm b = tiny().kvCacheMb(10);
        List<Long> counts = new ArrayList<>();
        for (int job = 0; job < 3; job++) {
            counts.add((long) in.transform(Stoker.llm(a).prompt(col("q"))).collectAsList().size());
            counts.add((long) in.transform(Stoker.llm(b).prompt(col("q"))).collectAsList().size());
        }
        assertThat(counts).containsOnly(10L);
        assertThat(runtime().metrics().snapshot().get(StokerMetrics.LLM_MODEL_LOADS) - before).isEqualTo(2);
    }
}
