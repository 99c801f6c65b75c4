package io.stoker.spark.sql

import io.stoker.spark.Stoker
import io.stoker.spark.graph.GraphSpec
import io.stoker.spark.testing.{LocalSpark, TestActors}
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.types.{DataTypes, StructType}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.concurrent.TimeLimits
import org.scalatest.funsuite.AnyFunSuite
import org.scalatest.time.SpanSugar._

import scala.jdk.CollectionConverters._

class MapBatchesSuite extends AnyFunSuite with BeforeAndAfterAll with TimeLimits {
  private var spark: SparkSession = _
  private val doubled = new StructType().add("doubled", DataTypes.LongType, false)

  override def beforeAll(): Unit = {
    spark = LocalSpark.start("MapBatchesSuite", Map(
      "spark.stoker.pool.doubler.class" -> classOf[TestActors.Doubler].getName,
      "spark.stoker.batch.rows" -> "50").asJava)
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  test("df.mapBatches appends the graph's columns to every row") {
    failAfter(120.seconds) {
      import io.stoker.spark.sql.implicits._
      val out = spark.range(0, 300, 1, 4).mapBatches(GraphSpec.of("double", "doubler", "doubled"), doubled)
      assert(out.columns.toSeq == Seq("id", "doubled"))
      val rows = out.collect()
      assert(rows.length == 300)
      assert(rows.forall(r => r.getLong(1) == 2 * r.getLong(0)))
    }
  }

  test("df.mapBatches drops input columns when asked and honours batchRows") {
    failAfter(120.seconds) {
      import io.stoker.spark.sql.implicits._
      val before = Stoker.executorReports(spark).get("driver").metric("batches")
      val out = spark.range(0, 100, 1, 1).mapBatches(GraphSpec.of("double", "doubler", "doubled"), doubled,
        batchRows = 10, dropInput = true)
      assert(out.columns.toSeq == Seq("doubled"))
      assert(out.collect().map(_.getLong(0)).sum == 2L * (0 until 100).sum)
      assert(Stoker.executorReports(spark).get("driver").metric("batches") - before == 10)
    }
  }
}
