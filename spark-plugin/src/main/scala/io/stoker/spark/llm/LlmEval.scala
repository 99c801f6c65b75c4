package io.stoker.spark.llm

import org.apache.spark.sql.catalyst.expressions.{Attribute, AttributeSet}
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, UnaryNode}

/**
 * The logical plan node of an LLM call: passes its child's rows through and adds `result`, the call's output
 * struct. Like Spark's `BatchEvalPython`, it exists so the planner can run the call with a batching operator
 * ([[LlmEvalExec]]); column pruning of its child and filter pushdown ([[PushFiltersBelowLlmEval]]) still apply.
 */
case class LlmEval(call: LlmGenerate, result: Attribute, child: LogicalPlan) extends UnaryNode {
  override def output: Seq[Attribute] = child.output :+ result

  override def producedAttributes: AttributeSet = AttributeSet(result)

  override protected def withNewChildInternal(newChild: LogicalPlan): LlmEval = copy(child = newChild)
}
