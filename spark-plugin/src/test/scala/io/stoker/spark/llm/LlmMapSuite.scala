package io.stoker.spark.llm

import io.stoker.spark.testing.LocalSpark
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.functions.{col, expr}
import org.apache.spark.sql.types.DataTypes
import org.scalatest.BeforeAndAfterAll
import org.scalatest.concurrent.TimeLimits
import org.scalatest.funsuite.AnyFunSuite
import org.scalatest.time.SpanSugar._

import scala.jdk.CollectionConverters._

/** The Scala form of llmMap (implicits), with messages, per-row sampling, pre/postprocess and the progress line. */
class LlmMapSuite extends AnyFunSuite with BeforeAndAfterAll with TimeLimits {
  private var spark: SparkSession = _
  private lazy val model = TinyModels.path()

  override def beforeAll(): Unit = {
    spark = LocalSpark.start("LlmMapSuite", Map("spark.executor.heartbeatInterval" -> "500ms").asJava)
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  test("df.llmMap with a prompt column keeps the input columns and adds the output columns") {
    failAfter(120.seconds) {
      import io.stoker.spark.llm.implicits._
      val in = spark.range(0, 30, 1, 3).selectExpr("id", "concat('q', id) AS question")
      val out = in.llmMap(Llm.model(model).maxTokens(3), prompt = col("question"))
      assert(out.columns.take(3).toSeq == Seq("id", "question", "generated_text"))
      val rows = out.collect()
      assert(rows.length == 30)
      assert(rows.map(_.getAs[Long]("id")).toSet == (0L until 30L).toSet)
      assert(rows.forall(_.getAs[String]("error") == null))
    }
  }

  test("messages, a per-row sampling map, preprocess and postprocess") {
    failAfter(120.seconds) {
      import io.stoker.spark.llm.implicits._
      val chats = spark.range(0, 6, 1, 2).select(col("id"),
        expr("array(named_struct('role', 'user', 'content', concat('hello ', id))) AS chat"),
        expr("map('max_tokens', CAST(id % 3 + 1 AS STRING), 'temperature', '0') AS params"))
      val out = chats.llmMap(Llm.model(model).returnTokenIds(true), messages = col("chat"),
        sampling = col("params"),
        postprocess = Seq(("n_tokens", (r: Row) => r.getAs[Int]("num_generated_tokens"), DataTypes.IntegerType)))
      val rows = out.collect()
      assert(rows.length == 6)
      rows.foreach { r =>
        val id = r.getAs[Long]("id")
        assert(r.getAs[String]("error") == null, s"row $id")
        assert(r.getAs[Int]("n_tokens") == r.getAs[Int]("num_generated_tokens"))
        assert(r.getAs[Int]("num_generated_tokens") <= id % 3 + 1, s"row $id respects its max_tokens")
      }
      val pre = spark.range(0, 4).toDF("id").llmMap(Llm.model(model).maxTokens(2),
        preprocess = (r: Row) => s"Tell me about ${r.getAs[Long]("id")}")
      assert(pre.collect().forall(r => r.getAs[Int]("num_input_tokens") > 3))
      // Spark resolves column names case-insensitively, so "Error" would silently replace the output "error"
      val clash = intercept[IllegalArgumentException] {
        chats.llmMap(Llm.model(model), messages = col("chat"),
          postprocess = Seq(("Error", (r: Row) => "x", DataTypes.StringType)))
      }
      assert(clash.getMessage.contains("postprocess column 'Error' clashes"), clash.getMessage)
    }
  }

  test("the progress line counts rows and tokens of a running LLM job") {
    failAfter(120.seconds) {
      import io.stoker.spark.llm.implicits._
      val lines = new java.util.concurrent.CopyOnWriteArrayList[String]()
      val progress = LlmProgress.start(spark, 40, (l: String) => lines.add(l), 100)
      try {
        spark.range(0, 40, 1, 4).selectExpr("id", "concat('q', id) AS q")
          .llmMap(Llm.model(model).maxTokens(2).option("ignore_eos", true), prompt = col("q")).collect()
        val (rows, errored, tokens) = progress.current
        assert(rows == 40)
        assert(errored == 0)
        assert(tokens == 80)
        assert(progress.line().startsWith("rows 40/40 (100%), 0 errors"))
      } finally progress.close()
      assert(lines.get(lines.size - 1).startsWith("rows 40/40 (100%)"), s"close() prints a last line: $lines")
    }
  }
}
