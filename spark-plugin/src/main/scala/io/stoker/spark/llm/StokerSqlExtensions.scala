package io.stoker.spark.llm

import org.apache.spark.sql.SparkSessionExtensions
import org.apache.spark.sql.catalyst.FunctionIdentifier
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo

/**
 * Stoker's SQL extensions, added to `spark.sql.extensions` by the driver plugin (users need not set it): the SQL
 * function `llm_generate`, the rule that turns its calls into [[LlmEval]] plan nodes, two optimizer rules (filters
 * below the call; unused calls dropped) and the planner strategy for the batching operator [[LlmEvalExec]].
 * Works from `spark.sql`, SQL cells, `expr()` and Spark Connect clients alike.
 */
class StokerSqlExtensions extends (SparkSessionExtensions => Unit) {
  override def apply(ext: SparkSessionExtensions): Unit = {
    ext.injectFunction((FunctionIdentifier(LlmGenerate.Name), StokerSqlExtensions.info, LlmGenerate.build _))
    ext.injectPostHocResolutionRule(_ => ExtractLlmCalls)
    ext.injectOptimizerRule(_ => PushFiltersBelowLlmEval)
    ext.injectOptimizerRule(_ => PruneUnusedLlmEval)
    ext.injectPlannerStrategy(_ => LlmStrategy)
  }
}

object StokerSqlExtensions {
  private val info = new ExpressionInfo(classOf[LlmGenerate].getName, null, LlmGenerate.Name,
    "llm_generate(prompt_or_messages, 'option', value, ...[, 'sampling', column]) - Generates text for each row" +
      " with an LLM run inside the executors; returns a struct of generated_text, num_input_tokens," +
      " num_generated_tokens, finish_reason, time_to_first_token_ms, time_taken_ms, error.",
    "\n    Examples:\n      > SELECT llm_generate(question, 'model', 'demo', 'max_tokens', 16).generated_text FROM t;\n")
}
