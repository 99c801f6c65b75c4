package io.stoker.spark.llm

import io.stoker.spark.plugin.DriverState
import org.apache.spark.rdd.RDD
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.expressions.{Attribute, UnsafeProjection}
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.apache.spark.sql.execution.{SparkPlan, SparkStrategy, UnaryExecNode}
import org.apache.spark.sql.execution.metric.{SQLMetric, SQLMetrics}

import scala.jdk.CollectionConverters._

/**
 * The batching physical operator of an LLM call. Each task feeds its partition, in Arrow batches, to its executor's
 * long-lived [[LlmProcessor]] (one engine per executor and model, shared by every task, stage and job), keeps up to
 * `max_in_flight_per_task` rows in flight, and emits each input row with its result struct, in input order.
 * Never one blocking engine call per row.
 */
case class LlmEvalExec(call: LlmGenerate, result: Attribute, child: SparkPlan) extends UnaryExecNode {
  override def output: Seq[Attribute] = child.output :+ result

  override def producedAttributes = org.apache.spark.sql.catalyst.expressions.AttributeSet(result)

  override lazy val metrics: Map[String, SQLMetric] = Map(
    LlmSqlMetrics.ROWS -> SQLMetrics.createMetric(sparkContext, LlmProgress.RowsMetric),
    LlmSqlMetrics.ERRORED -> SQLMetrics.createMetric(sparkContext, LlmProgress.ErroredMetric),
    LlmSqlMetrics.INPUT_TOKENS -> SQLMetrics.createMetric(sparkContext, LlmProgress.InputTokensMetric),
    LlmSqlMetrics.GENERATED_TOKENS -> SQLMetrics.createMetric(sparkContext, LlmProgress.GeneratedTokensMetric),
    LlmSqlMetrics.ENGINE_WAIT -> SQLMetrics.createNanoTimingMetric(sparkContext, "LLM time waiting for the engine"))

  override def nodeName: String = "LlmGenerate"

  override def simpleString(maxFields: Int): String =
    s"LlmGenerate [model=${call.spec.model}, input=${call.input.sql}" +
      call.sampling.map(s => s", sampling=${s.sql}").getOrElse("") + s"] -> ${result}"

  override protected def doExecute(): RDD[InternalRow] = {
    val state = DriverState.require(sparkContext, LlmGenerate.Name)
    val session = state.session()
    val spec = call.spec
    LlmEvalExec.checkKeyIsRedacted(spec, sparkContext.getConf)
    if (spec.isHttp && spec.http.server != null && !state.conf().servers().containsKey(spec.http.server)) {
      throw new LlmConfigException(s"LLM option 'server' = '${spec.http.server}' names no managed server; configure" +
        s" spark.stoker.server.${spec.http.server}.command (configured: ${state.conf().servers().keySet()})")
    }
    val inputs = call.children
    val requestType = call.requestType
    val childOutput = child.output
    val timeZone = conf.sessionLocalTimeZone
    val outTypes = output.map(_.dataType).toArray
    val m = new LlmSqlMetrics(longMetric(LlmSqlMetrics.ROWS), longMetric(LlmSqlMetrics.ERRORED),
      longMetric(LlmSqlMetrics.INPUT_TOKENS), longMetric(LlmSqlMetrics.GENERATED_TOKENS),
      longMetric(LlmSqlMetrics.ENGINE_WAIT))
    val generated = child.execute().mapPartitions({ rows =>
      val request = UnsafeProjection.create(inputs, childOutput)
      val toUnsafe = UnsafeProjection.create(outTypes)
      // copied: the projection reuses one row, and the persisted blocks must hold each row, not the last one
      LlmTaskRunner.open(session, spec, rows.asJava, request, requestType, timeZone, m).asScala
        .map(r => toUnsafe(r).copy(): InternalRow)
    }, preservesPartitioning = true)
    // A global sort or range repartition above samples its input in a job of its own before the real one: without
    // this, every row would be generated twice. The serialized blocks are dropped when the plan is garbage
    // collected (Spark's ContextCleaner) or evicted under memory pressure (then spilled to disk).
    generated.persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK_SER)
    generated.setName(s"LlmGenerate(${spec.model})")
  }

  override protected def withNewChildInternal(newChild: SparkPlan): LlmEvalExec = copy(child = newChild)
}

object LlmEvalExec {
  /**
   * An API key named by `api_key_conf` must sit under a configuration key that Spark redacts (`spark.redaction.regex`)
   * in the UI, the event log and logs; otherwise the call is refused before any job runs.
   */
  def checkKeyIsRedacted(spec: LlmSpec, conf: org.apache.spark.SparkConf): Unit = {
    if (spec.isHttp && spec.http.apiKeyConf != null) {
      val regex = conf.get("spark.redaction.regex", "(?i)secret|password|token|access[.]?key")
      if (regex.r.findFirstIn(spec.http.apiKeyConf).isEmpty) {
        throw new LlmConfigException(s"LLM option 'api_key_conf' = '${spec.http.apiKeyConf}' names a configuration" +
          s" key that Spark does not redact (spark.redaction.regex=$regex), so the key would show in the Spark UI" +
          " and the event log; put it under a key such as spark.stoker.secret.openai")
      }
    }
  }
}

/** Plans [[LlmEval]] nodes as [[LlmEvalExec]]. */
object LlmStrategy extends SparkStrategy {
  override def apply(plan: LogicalPlan): Seq[SparkPlan] = plan match {
    case LlmEval(call, result, child) => LlmEvalExec(call, result, planLater(child)) :: Nil
    case _ => Nil
  }
}
