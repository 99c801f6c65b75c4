package io.stoker.shell

import java.io.{OutputStream, PrintStream, PrintWriter}
import java.nio.file.Path

import scala.tools.nsc.GenericRunnerSettings
import scala.tools.nsc.interpreter.{IMain, Results}
import scala.tools.nsc.interpreter.shell.{ReplReporterImpl, ShellConfig}

import org.apache.spark.sql.SparkSession

/**
 * A Scala interpreter with a SparkSession bound to `spark`, as in spark-shell: the Scala compiler's REPL engine
 * (`IMain`) with class-based line wrappers (so closures serialize), compiling into `classesDir`, which the session
 * serves to executors (`spark.repl.class.outputDir`, see [[ShellSessions.start]]). Before the first user line it runs
 * [[StokerInterpreter.Preamble]]: `spark`, `sc`, `spark.implicits._`, `spark.sql`, Spark's `functions._`, and
 * Stoker's `Stoker`, `io.stoker.spark.llm._` (Llm) and `io.stoker.spark.llm.implicits._` (llmMap).
 *
 * Messages (compile errors, and with `printResults` the `val x: Int = 1` lines) go to `messages`; what user code
 * prints (`println`, `df.show()`) goes to `console`. An exception a line throws is kept ([[lastFailure]]) and, with
 * `echoFailures`, printed to `messages`: its stack trace when `verbose`, else [[ErrorText.brief]]. Callers that
 * report failures themselves (scripts, notebooks) turn `echoFailures` off. Not thread-safe: one thread interprets
 * at a time.
 */
final class StokerInterpreter(classesDir: Path, console: PrintStream, messages: PrintWriter, printResults: Boolean,
                              verbose: Boolean, echoFailures: Boolean = true) extends AutoCloseable {

  val settings: GenericRunnerSettings = {
    val s = new GenericRunnerSettings(msg => messages.println(msg))
    s.processArguments(List("-Yrepl-class-based", "-Yrepl-outdir", classesDir.toAbsolutePath.toString,
      "-usejavacp"), processAll = true)
    s
  }

  private val reporter = new StokerInterpreter.Reporter(ShellConfig(settings), settings, messages, verbose)
  reporter.printResults = printResults
  reporter.echoFailures = echoFailures

  /** The compiler's interpreter; [[StokerILoop]] drives it interactively. */
  val intp: IMain = new IMain(settings, None, settings, reporter)
  reporter.intp = intp

  /** Whether `val x: Int = 1` lines are printed after each statement. */
  def setPrintResults(on: Boolean): Unit = reporter.printResults = on

  /** Whether a failing line's exception is printed to `messages` (see the class comment). */
  def setEchoFailures(on: Boolean): Unit = reporter.echoFailures = on

  /** The failure of the last [[interpret]] call that failed (null when it was a compile error or none failed). */
  def lastFailure: Throwable = reporter.failure

  /** Initializes the compiler, binds `spark` and runs the preamble. */
  def start(spark: SparkSession): Unit = {
    if (!intp.initializeCompiler()) {
      throw new IllegalStateException("the Scala compiler did not start; run with --verbose to see why")
    }
    reporter.withoutPrintingResults {
      check(intp.bind("spark", classOf[SparkSession].getName, spark, List("@transient")), "bind spark")
      StokerInterpreter.Preamble.foreach(line => check(intp.interpret(line), line))
    }
  }

  private def check(result: Results.Result, what: String): Unit = {
    if (result != Results.Success) {
      throw new IllegalStateException(s"the shell's preamble failed at '$what'" +
        Option(reporter.failure).map(t => ": " + ErrorText.brief(t)).getOrElse(""))
    }
  }

  /** Compiles and runs `code` (one or more complete statements), with `console` as Scala's `Console.out`. */
  def interpret(code: String): Results.Result = {
    reporter.failure = null
    val result = Console.withOut(console) {
      intp.interpret(code)
    }
    console.flush()
    messages.flush()
    result
  }

  /** Runs `body` with `console` as Scala's `Console.out` (what `df.show()` prints to). */
  def withConsole[T](body: => T): T = try Console.withOut(console)(body) finally console.flush()

  override def close(): Unit = intp.close()
}

object StokerInterpreter {
  /** What runs before the first user line (after `spark` is bound). */
  val Preamble: Seq[String] = Seq(
    "@transient val sc = spark.sparkContext",
    "import spark.implicits._",
    "import spark.sql",
    "import org.apache.spark.sql.functions._",
    "import io.stoker.spark.Stoker",
    "import io.stoker.spark.llm._",
    "import io.stoker.spark.llm.implicits._")

  /** A PrintStream that writes nowhere. */
  def nullStream: PrintStream = new PrintStream(OutputStream.nullOutputStream())

  /** The REPL's reporter, keeping the exception a line threw and printing it briefly unless verbose. */
  private final class Reporter(config: ShellConfig, settings: GenericRunnerSettings, out: PrintWriter,
                               verbose: Boolean) extends ReplReporterImpl(config, settings, out) {
    @volatile var failure: Throwable = _
    @volatile var echoFailures: Boolean = true

    /** IMain hands over a failed line's stack trace as text; the exception itself is bound to `lastException`. */
    override def printResult(result: Either[String, String]): Unit = result match {
      case Left(trace) =>
        failure = lastException.orNull
        if (failure == null || (echoFailures && verbose)) super.printResult(result)
        else if (echoFailures) printMessage(ErrorText.brief(failure))
      case Right(_) => super.printResult(result)
    }

    var intp: IMain = _

    private def lastException: Option[Throwable] = Option(intp).flatMap(i =>
      scala.util.Try(i.valueOfTerm("lastException")).toOption.flatten.collect { case t: Throwable => t })
  }
}
