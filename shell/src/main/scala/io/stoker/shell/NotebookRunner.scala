package io.stoker.shell

import java.io.{ByteArrayOutputStream, PrintStream, PrintWriter}
import java.nio.charset.StandardCharsets
import java.nio.file.Path

import scala.jdk.CollectionConverters._
import scala.tools.nsc.interpreter.Results

import io.stoker.shell.DatabricksNotebook.{Cell, Kind}
import org.apache.spark.sql.{Row, SparkSession}

/**
 * Runs a [[DatabricksNotebook]] cell by cell on a SparkSession, as a notebook would: Scala cells through one
 * [[StokerInterpreter]] (so later cells see earlier cells' values), SQL cells through `spark.sql` (statements split
 * with [[SqlScript]], each result shown as a table), Markdown cells skipped. A cell that fails, or a magic this runner
 * does not run (`%python`, `%sh`, `%run`...), stops the run with a [[NotebookCellException]] naming the cell.
 *
 * The session must have been started with `spark.repl.class.outputDir` (as [[ShellSessions.start]] does) so that
 * executors load the classes the Scala cells compile. Not thread-safe; close it to release the interpreter.
 *
 * @param maxRows rows shown (and kept in [[NotebookRunner.CellResult.rows]]) per SQL result
 */
final class NotebookRunner(spark: SparkSession, maxRows: Int = 1000, verbose: Boolean = false) extends AutoCloseable {
  private val buffer = new ByteArrayOutputStream()
  private val console = new PrintStream(buffer, true, StandardCharsets.UTF_8)
  private val interpreter = {
    val dir = spark.conf.getOption("spark.repl.class.outputDir").getOrElse(throw new IllegalArgumentException(
      "the SparkSession has no spark.repl.class.outputDir: start it with ShellSessions.start(name, options, dir)" +
        " so executors can load the classes notebook cells compile"))
    val i = new StokerInterpreter(Path.of(dir), console, new PrintWriter(console, true), printResults = false, verbose)
    i.start(spark)
    i
  }

  /**
   * @param onCell called after each cell that ran, with its result (e.g. to print it as it comes)
   * @return every cell's result, in order
   * @throws NotebookCellException at the first cell that fails
   */
  def run(notebook: DatabricksNotebook, onCell: java.util.function.Consumer[NotebookRunner.CellResult])
      : java.util.List[NotebookRunner.CellResult] = {
    val results = new java.util.ArrayList[NotebookRunner.CellResult]()
    for (cell <- notebook.cells.asScala) {
      val t0 = System.nanoTime()
      buffer.reset()
      val rows = cell.kind match {
        case Kind.SCALA => runScala(notebook, cell); java.util.List.of[Row]()
        case Kind.SQL => runSql(notebook, cell)
        case Kind.MARKDOWN => java.util.List.of[Row]()
        case Kind.OTHER => throw new NotebookCellException(notebook.name, cell, s"${cell.magic} cells are not run by" +
          " this runner (it runs Scala, %sql and %md cells)", "", null)
      }
      val result = NotebookRunner.CellResult(cell, output(), rows, (System.nanoTime() - t0) / 1000000L)
      results.add(result)
      onCell.accept(result)
    }
    results
  }

  /** Runs the notebook without a per-cell callback. */
  def run(notebook: DatabricksNotebook): java.util.List[NotebookRunner.CellResult] = run(notebook, _ => ())

  private def runScala(notebook: DatabricksNotebook, cell: Cell): Unit = {
    interpreter.interpret(cell.source) match {
      case Results.Success =>
      case Results.Incomplete =>
        throw new NotebookCellException(notebook.name, cell, "the cell's code is incomplete", output(), null)
      case _ =>
        val cause = interpreter.lastFailure
        throw new NotebookCellException(notebook.name, cell, Option(cause).map(ErrorText.brief)
          .getOrElse("it does not compile"), output(), cause)
    }
  }

  private def runSql(notebook: DatabricksNotebook, cell: Cell): java.util.List[Row] = {
    var last: java.util.List[Row] = java.util.List.of()
    for (st <- SqlScript.split(cell.source).asScala) {
      try {
        val df = spark.sql(st.text)
        if (df.schema.nonEmpty) {
          val rows = df.take(maxRows)
          last = java.util.List.of(rows: _*)
          interpreter.withConsole(spark.createDataFrame(last, df.schema).show(maxRows, truncate = false))
        }
      } catch {
        case e: Exception =>
          throw new NotebookCellException(notebook.name, cell, s"statement at cell line ${st.line}: " +
            ErrorText.brief(e), output(), e)
      }
    }
    last
  }

  private def output(): String = {
    console.flush()
    buffer.toString(StandardCharsets.UTF_8)
  }

  override def close(): Unit = interpreter.close()
}

object NotebookRunner {
  /**
   * @param cell   the cell
   * @param output what it printed (Scala: println, show; SQL: the result tables)
   * @param rows   for a SQL cell, the rows of its last statement that returns columns (at most maxRows)
   * @param millis how long it took
   */
  final case class CellResult(cell: Cell, output: String, rows: java.util.List[Row], millis: Long)
}

/** A notebook cell failed; the message names the notebook and the cell, says why, and holds what the cell printed. */
final class NotebookCellException(val notebook: String, val cell: Cell, val reason: String, val output: String,
                                  cause: Throwable)
  extends RuntimeException(s"$notebook: ${cell.describe()} failed: $reason" +
    (if (output.trim.isEmpty) "" else s"\n--- its output ---\n${output.trim}"), cause)
