// Databricks notebook source
// MAGIC %md
// MAGIC # LLM batch inference on Spark with Stoker
// MAGIC
// MAGIC This notebook runs a language model over a small table of questions: from Scala with `llmMap`, then from
// MAGIC SQL with `llm_generate`. The model runs inside the Spark executors: each executor loads it once and batches
// MAGIC the rows of all its tasks together. Bad rows come back with an `error` instead of failing the job.
// MAGIC
// MAGIC **Needs** Stoker's plugin on the cluster: the shaded jar (`stoker-spark-plugin-<version>-shaded.jar`) and
// MAGIC `spark.plugins=io.stoker.spark.StokerSparkPlugin`, which also registers the SQL function `llm_generate`.
// MAGIC
// MAGIC **Locally**, with no Spark installation: `bin/stoker shell --notebook examples/notebooks/llm_on_spark.scala`.

// COMMAND ----------

// DBTITLE 1,Choose the model
// 'demo' is the small model bundled with Stoker. For another model, set the Spark conf stoker.notebook.model to a
// local path or a file:/hdfs:/s3a: URI of a Hugging Face model directory or a .gguf file, e.g.
//   bin/stoker shell --notebook examples/notebooks/llm_on_spark.scala --conf stoker.notebook.model=/models/qwen
val model = spark.conf.getOption("stoker.notebook.model").getOrElse("demo")
spark.conf.set("stoker.notebook.model", model) // the SQL cells read it as ${stoker.notebook.model}
println(s"model: $model")

// COMMAND ----------

// DBTITLE 1,A small table of questions
import org.apache.spark.sql.functions._
import io.stoker.spark.llm._
import io.stoker.spark.llm.implicits._

val questions = Seq(
  (1, "What is 12 plus 7?"),
  (2, "What is 9 times 6?"),
  (3, "Spell the word spark backwards."),
  (4, "What is 100 minus 58?"),
  (5, "Which day comes after Tuesday?"),
  (6, null) // a bad row: no prompt
).toDF("id", "question")

questions.createOrReplaceTempView("questions")
questions.show(truncate = false)

// COMMAND ----------

// DBTITLE 1,Ask from Scala: llmMap
// The options are checked here, on the driver; a bad one fails at once, naming it.
val llm = Llm.model(model)
  .systemPrompt("Answer briefly.")
  .maxTokens(16)

// One output row per input row: the input columns, then generated_text, num_input_tokens, num_generated_tokens,
// finish_reason (stop / length / error), time_to_first_token_ms, time_taken_ms and error.
val answers = questions.llmMap(llm, prompt = col("question")).cache() // cached: later cells reuse the answers
answers.createOrReplaceTempView("answers")

answers
  .select("id", "question", "generated_text", "finish_reason", "num_generated_tokens", "error")
  .orderBy("id")
  .show(truncate = false)

// COMMAND ----------

// MAGIC %md
// MAGIC ## The same from SQL
// MAGIC
// MAGIC `llm_generate(prompt, 'option', value, ...)` returns a struct with the same fields as llmMap's columns.
// MAGIC Option names are those of `docs/llm-on-spark.md` (`model`, `max_tokens`, `system_prompt`, `temperature`,
// MAGIC `seed`, `fail_on_error`...); a per-row `'sampling', struct(...)` column may override the sampling options.

// COMMAND ----------

// DBTITLE 1,Ask from SQL: llm_generate
// MAGIC %sql
// MAGIC CREATE OR REPLACE TEMP VIEW sql_answers AS
// MAGIC SELECT id, question, r.generated_text AS answer, r.finish_reason, r.error
// MAGIC FROM (
// MAGIC   SELECT id, question,
// MAGIC          llm_generate(question, 'model', '${stoker.notebook.model}', 'system_prompt', 'Answer briefly.',
// MAGIC                       'max_tokens', 16) AS r
// MAGIC   FROM questions
// MAGIC );
// MAGIC
// MAGIC SELECT * FROM sql_answers ORDER BY id

// COMMAND ----------

// DBTITLE 1,Greedy decoding: SQL and Scala give the same answers
// MAGIC %sql
// MAGIC SELECT count(*) AS rows,
// MAGIC        count_if(s.answer <=> a.generated_text) AS same_answer
// MAGIC FROM sql_answers s JOIN answers a USING (id)

// COMMAND ----------

// MAGIC %md
// MAGIC ## Bad rows
// MAGIC
// MAGIC A null or empty prompt, a prompt longer than the context, invalid sampling values or a chat-template failure
// MAGIC affect only their row: it comes back with `finish_reason = 'error'` and an `error` that says what to fix.

// COMMAND ----------

// DBTITLE 1,Which rows failed, and why
// MAGIC %sql
// MAGIC SELECT id, question, finish_reason, error FROM answers WHERE error IS NOT NULL ORDER BY id

// COMMAND ----------

// DBTITLE 1,The job itself did not fail
val total = answers.count()
val errored = answers.filter(col("error").isNotNull).count()
println(s"rows: $total, errored: $errored")

// COMMAND ----------

// DBTITLE 1,Or fail the job at the first bad row
// failOnError(true) (SQL: 'fail_on_error', true) turns the first bad row into a job failure that names the row.
val strict = scala.util.Try(questions.llmMap(llm.failOnError(true), prompt = col("question")).collect())
println(strict.fold(e => "failed as asked: " + e.getMessage.linesIterator.next(), _ => "no bad row"))

// COMMAND ----------

answers.unpersist()
