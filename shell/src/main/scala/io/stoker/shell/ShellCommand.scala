package io.stoker.shell

import java.io.{BufferedReader, InputStreamReader, PrintWriter}
import java.nio.charset.StandardCharsets
import java.nio.file.{Files, NoSuchFileException, Path}
import java.util.Comparator

import scala.util.control.NonFatal

import io.stoker.spark.cli.LocalSparkHome
import org.apache.spark.sql.SparkSession

/**
 * `bin/stoker shell [-i FILE] [--notebook FILE] [--master M] [--conf k=v]... [--verbose]`: a Scala REPL with Spark
 * and Stoker's plugin, like spark-shell, from this project's classpath (no Spark download). `spark` and `sc` are
 * bound; `spark.implicits._`, `functions._`, `io.stoker.spark.llm._` and its implicits (llmMap) are imported
 * ([[StokerInterpreter.Preamble]]).
 *
 *  - With a terminal, an interactive prompt (after running `-i FILE` if given).
 *  - With standard input from a pipe or file, it runs that as a script ([[ScriptRunner]]); so does `-i FILE`.
 *    Only what the script prints is shown (results too with `--verbose`). The first failing statement stops the
 *    script: exit code 1, with the line and a short message (the stack trace with `--verbose`) on stderr.
 *  - `--notebook FILE` runs a Databricks-format notebook cell by cell ([[NotebookRunner]]).
 */
object ShellCommand {
  val Name = "stoker shell"

  def main(args: Array[String]): Unit = System.exit(run(args))

  /** @return the exit code: 0 when the script or session ended normally, 1 when it failed, 2 for bad options */
  def run(args: Array[String]): Int = {
    var script: Option[Path] = None
    var notebook: Option[Path] = None
    val options = try {
      val o = SessionOptions.parse(Name, args)
      val rest = o.rest.toArray(new Array[String](0))
      var i = 0
      while (i < rest.length) {
        rest(i) match {
          case "-i" => i += 1; script = Some(existing(SessionOptions.value(Name, rest, i, "-i")))
          case "--notebook" => i += 1; notebook = Some(existing(SessionOptions.value(Name, rest, i, "--notebook")))
          case "--help" | "-h" => println(usage); return 0
          case other => throw new SessionOptions.UsageException(s"$Name: unknown option '$other' (try --help)")
        }
        i += 1
      }
      o
    } catch {
      case e: SessionOptions.UsageException => System.err.println(e.getMessage); return 2
    }
    if (ShellSessions.needsRelaunch(options)) {
      return LocalSparkHome.relaunch(ShellCommand.getClass.getName.stripSuffix("$"), args)
    }
    val parsed = try notebook.map(nb => DatabricksNotebook.parse(nb.toString, Files.readString(nb))) catch {
      case e: IllegalArgumentException => System.err.println(s"$Name: ${e.getMessage}"); return 2
    }
    ShellSessions.configureLogging(options.verbose)
    val classes = Files.createTempDirectory("stoker-repl-classes-")
    try {
      val spark = ShellSessions.start("Stoker shell", options, classes)
      try {
        parsed match {
          case Some(nb) => runNotebook(spark, nb, options.verbose)
          case None => runShell(spark, classes, script, options.verbose)
        }
      } finally {
        spark.stop()
      }
    } finally {
      deleteTree(classes)
    }
  }

  private def runShell(spark: SparkSession, classes: Path, script: Option[Path], verbose: Boolean): Int = {
    val interactive = System.console() != null
    val messages = new PrintWriter(if (interactive) System.out else System.err, true)
    val interpreter = new StokerInterpreter(classes, System.out, messages, printResults = verbose, verbose,
      echoFailures = false)
    try {
      interpreter.start(spark)
      val scripted = script match {
        case Some(file) => runScript(interpreter, Files.newBufferedReader(file), file.toString, verbose)
        case None if !interactive =>
          runScript(interpreter, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)),
            "<stdin>", verbose)
        case None => 0
      }
      if (scripted != 0 || !interactive) {
        scripted
      } else {
        interpreter.setPrintResults(true)
        interpreter.setEchoFailures(true)
        new StokerILoop(interpreter, banner(spark)).runLoop() // false only means :quit
        0
      }
    } finally {
      interpreter.close()
    }
  }

  private def runScript(interpreter: StokerInterpreter, reader: BufferedReader, source: String, verbose: Boolean)
      : Int = {
    try {
      new ScriptRunner(interpreter).run(reader, source) match {
        case None => 0
        case Some(failure) =>
          System.out.flush()
          System.err.println(s"$Name: the script failed at $failure")
          if (verbose && failure.cause != null) failure.cause.printStackTrace()
          1
      }
    } finally {
      reader.close()
    }
  }

  private def runNotebook(spark: SparkSession, nb: DatabricksNotebook, verbose: Boolean): Int = {
    val runner = new NotebookRunner(spark, verbose = verbose)
    try {
      runner.run(nb, r => {
        println(s"--- ${r.cell.describe()}: ${r.millis} ms")
        if (r.output.nonEmpty) print(r.output)
      })
      println(s"--- ${nb.cells.size} cells ran")
      0
    } catch {
      case e: NotebookCellException =>
        System.out.flush()
        System.err.println(s"$Name: ${e.getMessage}")
        if (verbose && e.getCause != null) e.getCause.printStackTrace()
        1
    } finally {
      runner.close()
    }
  }

  private def banner(spark: SparkSession): String =
    s"""Stoker shell: Spark ${spark.version} on ${spark.sparkContext.master}, Scala ${scala.util.Properties.versionNumberString}.
       |Bound: spark, sc. Imported: spark.implicits._, spark.sql, functions._, Stoker, io.stoker.spark.llm._ (Llm)
       |and its implicits (df.llmMap). SQL has llm_generate. :help lists the commands, :quit leaves.""".stripMargin

  private def existing(file: String): Path = {
    val p = Path.of(file)
    if (!Files.isRegularFile(p)) throw new SessionOptions.UsageException(s"$Name: $file: no such file")
    p
  }

  private def deleteTree(dir: Path): Unit = {
    try {
      val walk = Files.walk(dir)
      try walk.sorted(Comparator.reverseOrder[Path]()).forEach(p => Files.deleteIfExists(p))
      finally walk.close()
    } catch {
      case NonFatal(_) => // a temporary directory; the OS cleans it up eventually
    }
  }

  val usage: String =
    """usage: bin/stoker shell [-i FILE] [--notebook FILE] [--master M] [--conf key=value]... [--verbose]
      |  A Scala REPL with Spark and Stoker's plugin, like spark-shell (spark and sc bound; Llm, llmMap and
      |  llm_generate ready). Interactive on a terminal; a script when standard input is a pipe or a file.
      |  -i FILE           run FILE first (then the prompt, on a terminal)
      |  --notebook FILE   run a Databricks-format Scala notebook cell by cell (Scala, %sql and %md cells)
      |  --master M        Spark master (default local[*]; local-cluster[N,C,MB] works without Spark installed)
      |  --conf k=v        a Spark conf (repeatable)
      |  --verbose         print results (val x: Int = 1), Spark's warnings and full stack traces
      |  Exit code: 0 on success, 1 when the script or a notebook cell fails (named on stderr), 2 for bad options.
      |examples:
      |  echo 'println(spark.range(10).count())' | bin/stoker shell
      |  bin/stoker shell --notebook examples/notebooks/llm_on_spark.scala --conf stoker.notebook.model=/models/m""".stripMargin
}
