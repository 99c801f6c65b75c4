package io.stoker.spark.llm

import org.apache.spark.sql.{Column, DataFrame, Dataset, Row}
import org.apache.spark.sql.types.DataType

/**
 * Scala sugar for LLM batch inference:
 * {{{
 * import io.stoker.spark.llm.implicits._
 * val out = questions.llmMap(Llm.model("demo").systemPrompt("Answer briefly.").maxTokens(16),
 *                            prompt = col("question"))       // or messages = col("chat"); sampling = col("params")
 * }}}
 * Same semantics as `df.transform(Stoker.llm(llm).prompt(col))` (see [[LlmMap]]).
 */
object implicits {
  implicit class LlmDatasetOps[T](private val ds: Dataset[T]) extends AnyVal {
    /**
     * @param llm         model and options
     * @param prompt      the prompt column (string)
     * @param messages    or the chat column (`array<struct<role, content>>`)
     * @param sampling    optional per-row sampling overrides (struct or map)
     * @param preprocess  or a function building each row's prompt from the whole input row
     * @param postprocess columns computed from each output row: name -> (function, type)
     */
    def llmMap(llm: Llm, prompt: Column = null, messages: Column = null, sampling: Column = null,
               preprocess: Row => String = null,
               postprocess: Seq[(String, Row => Any, DataType)] = Nil): DataFrame = {
      var op = new LlmMap(llm)
      if (prompt != null) op = op.prompt(prompt)
      if (messages != null) op = op.messages(messages)
      if (preprocess != null) {
        val f = preprocess
        op = op.preprocess(new org.apache.spark.api.java.function.Function[Row, String] {
          override def call(r: Row): String = f(r)
        })
      }
      if (sampling != null) op = op.sampling(sampling)
      postprocess.foreach { case (name, fn, tpe) =>
        op = op.postprocess(name, new org.apache.spark.api.java.function.Function[Row, AnyRef] {
          override def call(r: Row): AnyRef = fn(r).asInstanceOf[AnyRef]
        }, tpe)
      }
      ds.toDF().transform(op)
    }
  }
}
