package io.stoker.spark.llm

import org.apache.spark.sql.catalyst.analysis.TypeCheckResult
import org.apache.spark.sql.catalyst.expressions.{Expression, Unevaluable}
import org.apache.spark.sql.types._

/**
 * `llm_generate(prompt | messages, 'option', value, ..., ['sampling', column])`: one row's LLM call, returning the
 * struct of [[LlmOutputSchema]]. It is never evaluated row by row: [[ExtractLlmCalls]] moves every call into an
 * [[LlmEval]] plan node, which the batching operator [[LlmEvalExec]] runs.
 *
 * @param input    the prompt (string) or the messages (`array<struct<role: string, content: string>>`)
 * @param sampling optional per-row sampling overrides (struct or `map<string, _>`)
 * @param spec     the validated options
 */
case class LlmGenerate(input: Expression, sampling: Option[Expression], spec: LlmSpec)
  extends Expression with Unevaluable {

  override def children: Seq[Expression] = input +: sampling.toSeq

  override lazy val dataType: StructType = LlmOutputSchema.struct(spec)

  override def nullable: Boolean = false

  override def prettyName: String = "llm_generate"

  /** True when the input is a messages column rather than a prompt. */
  def messagesInput: Boolean = input.dataType.isInstanceOf[ArrayType]

  /** The schema of the request rows the task sends to the executor's processor (input, then sampling). */
  def requestType: StructType = {
    val fields = Seq(StructField("input", input.dataType, nullable = true)) ++
      sampling.map(s => StructField("sampling", s.dataType, nullable = true)).toSeq
    StructType(fields)
  }

  override def checkInputDataTypes(): TypeCheckResult = {
    val inputOk = input.dataType match {
      case StringType => true
      case ArrayType(st: StructType, _) => LlmGenerate.isMessage(st)
      case _ => false
    }
    if (!inputOk) {
      TypeCheckResult.TypeCheckFailure(s"llm_generate's first argument must be the prompt (string) or the messages" +
        s" (array<struct<role: string, content: string>>), not ${input.dataType.catalogString}")
    } else {
      sampling.map(_.dataType) match {
        case None => TypeCheckResult.TypeCheckSuccess
        case Some(_: StructType) if spec.isHttp => TypeCheckResult.TypeCheckSuccess // other fields pass through
        case Some(StringType) if spec.isHttp => TypeCheckResult.TypeCheckSuccess // a JSON object merged into the body
        case Some(st: StructType) =>
          val unknown = st.fieldNames.filterNot(n => RequestPreparer.SAMPLING_KEYS.contains(n))
          if (unknown.isEmpty) TypeCheckResult.TypeCheckSuccess
          else TypeCheckResult.TypeCheckFailure(s"llm_generate's sampling struct has unknown field(s) " +
            s"${unknown.mkString(", ")}; the fields are ${LlmGenerate.samplingKeys}")
        case Some(MapType(StringType, _, _)) => TypeCheckResult.TypeCheckSuccess
        case Some(other) => TypeCheckResult.TypeCheckFailure(s"llm_generate's sampling column must be a struct or a" +
          s" map<string, _> with fields ${LlmGenerate.samplingKeys} (or, for an OpenAI-compatible server, a JSON" +
          s" object string), not ${other.catalogString}")
      }
    }
  }

  override def toString: String = s"llm_generate(${children.mkString(", ")}, ${spec.model})"

  override protected def withNewChildrenInternal(newChildren: IndexedSeq[Expression]): LlmGenerate =
    copy(input = newChildren.head, sampling = if (newChildren.size > 1) Some(newChildren(1)) else None)
}

object LlmGenerate {
  val Name = "llm_generate"

  private def samplingKeys: String = RequestPreparer.SAMPLING_KEYS.toArray.map(_.toString).sorted.mkString(", ")

  private def isMessage(st: StructType): Boolean = {
    val names = st.fields.map(_.name.toLowerCase(java.util.Locale.ROOT)).toSet
    names.contains("role") && names.contains("content") &&
      st.fields.forall(f => !Set("role", "content").contains(f.name.toLowerCase(java.util.Locale.ROOT)) ||
        f.dataType == StringType)
  }

  /**
   * The SQL function's builder: `llm_generate(input, key1, value1, ..., ['sampling', column])`. Keys and values are
   * literals (except the sampling column); the options are validated here, on the driver, while the query is analyzed.
   */
  def build(args: Seq[Expression]): Expression = {
    if (args.isEmpty || args.size % 2 != 1) {
      throw new LlmConfigException(s"$Name takes the prompt (or messages) column, then option name/value pairs," +
        s" e.g. $Name(question, 'model', 'demo', 'max_tokens', 64); got ${args.size} argument(s)")
    }
    val options = new java.util.LinkedHashMap[String, String]()
    var sampling: Option[Expression] = None
    args.tail.grouped(2).foreach { case Seq(k, v) =>
      val key = literal(k, "option name").toString
      if (key.equalsIgnoreCase("sampling")) {
        sampling = Some(v)
      } else {
        val value = literal(v, s"value of option '$key'")
        options.put(key, if (value == null) null else value.toString)
      }
    }
    LlmGenerate(args.head, sampling, LlmSpec.parse(options))
  }

  private def literal(e: Expression, what: String): Any = {
    if (!e.foldable) {
      throw new LlmConfigException(s"$Name: the $what must be a literal (got ${e.sql}); only 'sampling' takes a column")
    }
    e.eval() match {
      case null => null
      case s: org.apache.spark.unsafe.types.UTF8String => s.toString
      case a: org.apache.spark.sql.catalyst.util.ArrayData if e.dataType.isInstanceOf[ArrayType] =>
        val els = e.dataType.asInstanceOf[ArrayType].elementType
        val items = a.toSeq[Any](els).map(x => if (x == null) "null" else "\"" + x.toString.replace("\\", "\\\\")
          .replace("\"", "\\\"") + "\"")
        items.mkString("[", ",", "]")
      case other => other
    }
  }
}
