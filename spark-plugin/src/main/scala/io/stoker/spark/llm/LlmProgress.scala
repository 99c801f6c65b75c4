package io.stoker.spark.llm

import java.util.concurrent.{ConcurrentHashMap, Executors, ThreadFactory, TimeUnit}
import java.util.function.Consumer

import org.apache.spark.scheduler.{AccumulableInfo, SparkListener, SparkListenerExecutorMetricsUpdate, SparkListenerTaskEnd}
import org.apache.spark.sql.SparkSession

import scala.jdk.CollectionConverters._

/**
 * Progress of LLM calls for command-line jobs: rows done of a total, errored rows, generated tokens/s and an ETA,
 * from the LLM operators' SQL metrics. Running tasks report through executor heartbeats
 * (`spark.executor.heartbeatInterval`), finished tasks through task-end events; a killed or failed attempt's
 * partial counts are dropped, so a retried partition is not counted twice.
 *
 * {{{
 * val progress = LlmProgress.start(spark, totalRows, line => System.err.println(line), 2000)
 * try df.write.parquet(out) finally progress.close()
 * }}}
 */
final class LlmProgress private (spark: SparkSession, total: Long, out: Consumer[String], intervalMillis: Long)
  extends SparkListener with AutoCloseable {

  private case class Counts(rows: Long, errored: Long, tokens: Long) {
    def +(o: Counts): Counts = Counts(rows + o.rows, errored + o.errored, tokens + o.tokens)
  }

  private val running = new ConcurrentHashMap[Long, Counts]()
  @volatile private var finished = Counts(0, 0, 0)
  private val started = System.nanoTime()
  private val timer = Executors.newSingleThreadScheduledExecutor(new ThreadFactory {
    override def newThread(r: Runnable): Thread = {
      val t = new Thread(r, "stoker-llm-progress")
      t.setDaemon(true)
      t
    }
  })

  private def counts(infos: Iterable[AccumulableInfo]): Counts = {
    var c = Counts(0, 0, 0)
    infos.foreach { i =>
      val v = i.update.collect { case n: java.lang.Long => n.longValue(); case n: Long => n }.getOrElse(0L)
      i.name match {
        case Some(LlmProgress.RowsMetric) => c = c.copy(rows = c.rows + v)
        case Some(LlmProgress.ErroredMetric) => c = c.copy(errored = c.errored + v)
        case Some(LlmProgress.GeneratedTokensMetric) => c = c.copy(tokens = c.tokens + v)
        case _ =>
      }
    }
    c
  }

  override def onExecutorMetricsUpdate(e: SparkListenerExecutorMetricsUpdate): Unit = {
    e.accumUpdates.foreach { case (taskId, _, _, infos) =>
      val c = counts(infos)
      if (c.rows + c.tokens > 0) running.put(taskId, c)
    }
  }

  override def onTaskEnd(e: SparkListenerTaskEnd): Unit = synchronized {
    running.remove(e.taskInfo.taskId)
    if (e.taskInfo.successful) finished = finished + counts(e.taskInfo.accumulables)
  }

  /** @return rows done, errored rows, generated tokens so far */
  def current: (Long, Long, Long) = {
    val c = running.values().asScala.foldLeft(finished)(_ + _)
    (c.rows, c.errored, c.tokens)
  }

  /** @return the progress line, e.g. `rows 120/1000 (12%), 3 errors, 845 tokens/s, ETA 0:41` */
  def line(): String = {
    val (rows, errored, tokens) = current
    val secs = math.max(1e-3, (System.nanoTime() - started) / 1e9)
    val tps = tokens / secs
    val pct = if (total > 0) 100.0 * rows / total else 0.0
    val eta = if (rows > 0 && total > rows) {
      val s = ((total - rows) * secs / rows).toLong
      f"${s / 60}%d:${s % 60}%02d"
    } else if (rows >= total && total > 0) "0:00" else "?"
    f"rows $rows%d/$total%d ($pct%.0f%%), $errored%d errors, $tps%.0f tokens/s, ETA $eta"
  }

  private def begin(): LlmProgress = {
    spark.sparkContext.addSparkListener(this)
    timer.scheduleAtFixedRate(() => out.accept(line()), intervalMillis, intervalMillis, TimeUnit.MILLISECONDS)
    this
  }

  /**
   * Stops the timer and prints a last line. Task-end events reach listeners asynchronously, so it first waits up
   * to a second for the finished rows to reach the total.
   */
  override def close(): Unit = {
    timer.shutdownNow()
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1)
    while (current._1 < total && System.nanoTime() < deadline) Thread.sleep(20)
    spark.sparkContext.removeSparkListener(this)
    out.accept(line())
  }
}

object LlmProgress {
  /** Names of the LLM operator's SQL metrics (as shown in the Spark UI), which the progress line sums. */
  val RowsMetric = "LLM rows"
  val ErroredMetric = "LLM errored rows"
  val InputTokensMetric = "LLM input tokens"
  val GeneratedTokensMetric = "LLM generated tokens"

  /**
   * Starts printing a progress line every `intervalMillis` to `out`.
   *
   * @param totalRows rows the job will process (for the percentage and the ETA)
   */
  def start(spark: SparkSession, totalRows: Long, out: Consumer[String], intervalMillis: Long): LlmProgress =
    new LlmProgress(spark, totalRows, out, intervalMillis).begin()
}
