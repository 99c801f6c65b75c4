package io.stoker.spark.llm

import org.apache.spark.sql.catalyst.expressions.{And, AttributeReference, Expression, NamedExpression, PredicateHelper}
import org.apache.spark.sql.catalyst.plans.logical.{Filter, LogicalPlan, Project}
import org.apache.spark.sql.catalyst.rules.Rule

/**
 * Moves every `llm_generate` call out of SELECT lists and WHERE clauses into an [[LlmEval]] node below, replacing
 * the call by a reference to the node's result (as Spark's ExtractPythonUDFs does for Python UDFs). Runs once, after
 * analysis resolved the plan, so the optimizer never sees a call it could duplicate or reorder. Identical calls
 * (same input and options) are evaluated once. A call elsewhere (GROUP BY, ORDER BY, join conditions) is refused
 * with a message that says to compute it in a subquery first.
 */
object ExtractLlmCalls extends Rule[LogicalPlan] {
  private def hasCall(e: Expression): Boolean = e.exists(_.isInstanceOf[LlmGenerate])

  override def apply(plan: LogicalPlan): LogicalPlan = plan.resolveOperatorsUp {
    case p @ Project(list, child) if list.exists(hasCall) =>
      val (newChild, rewrite) = extract(list, child)
      p.copy(projectList = list.map(e => rewrite(e).asInstanceOf[NamedExpression]), child = newChild)
    case f @ Filter(cond, child) if hasCall(cond) =>
      val (newChild, rewrite) = extract(Seq(cond), child)
      Project(child.output, f.copy(condition = rewrite(cond), child = newChild))
    // An LlmEval this rule made is visited again when the analyzer copies it (DeduplicateRelations on a self-join of
    // two plans over the same input): its call is already extracted.
    case e: LlmEval => e
    case other if other.resolved && other.expressions.exists(hasCall) =>
      throw new LlmConfigException(s"${LlmGenerate.Name} may appear only in SELECT lists and WHERE clauses, not in" +
        s" ${other.nodeName}; compute it in a subquery (or a DataFrame column) first and use the result")
  }

  /** Builds one LlmEval per distinct call (innermost first) and returns a rewriter of the expressions. */
  private def extract(exprs: Seq[Expression], child: LogicalPlan): (LogicalPlan, Expression => Expression) = {
    var plan = child
    var done = Map.empty[Expression, AttributeReference]
    def rewrite(e: Expression): Expression = e.transformUp {
      case c: LlmGenerate if done.contains(c.canonicalized) => done(c.canonicalized)
    }
    var pending = exprs.flatMap(_.collect { case c: LlmGenerate => c })
    while (pending.nonEmpty) {
      // a call whose arguments hold no other pending call can run now
      val ready = pending.map(c => rewrite(c).asInstanceOf[LlmGenerate])
        .filterNot(c => c.children.exists(hasCall)).head
      if (!done.contains(ready.canonicalized)) {
        val attr = AttributeReference("llm_result", ready.dataType, nullable = false)()
        plan = LlmEval(ready, attr, plan)
        done += ready.canonicalized -> attr
      }
      pending = pending.filter(c => rewrite(c).isInstanceOf[LlmGenerate])
    }
    (plan, rewrite)
  }
}

/** Moves filter conditions on the input columns below an [[LlmEval]], so rows the query drops never reach the model. */
object PushFiltersBelowLlmEval extends Rule[LogicalPlan] with PredicateHelper {
  override def apply(plan: LogicalPlan): LogicalPlan = plan.transform {
    case f @ Filter(cond, e: LlmEval) =>
      val (below, above) = splitConjunctivePredicates(cond).partition(c =>
        c.deterministic && c.references.subsetOf(e.child.outputSet))
      if (below.isEmpty) f
      else {
        val pushed = e.copy(child = Filter(below.reduce(And), e.child))
        if (above.isEmpty) pushed else Filter(above.reduce(And), pushed)
      }
  }
}

/** Drops an LLM call whose result the query never uses (e.g. `llmMap(...).select("id")`): no model time is spent. */
object PruneUnusedLlmEval extends Rule[LogicalPlan] {
  override def apply(plan: LogicalPlan): LogicalPlan = plan.transform {
    case p @ Project(_, e: LlmEval) if !p.references.contains(e.result) => p.copy(child = e.child)
  }
}
