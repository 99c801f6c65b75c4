package io.stoker.shell

import java.io.BufferedReader

import scala.tools.nsc.interpreter.Results

/**
 * Runs a Scala script through a [[StokerInterpreter]] statement by statement, as the REPL would if it were typed in,
 * and stops at the first statement that fails. Lines are gathered until they parse as complete statements; a
 * following line that starts with `.` continues the statement (a method chain split across lines, which the
 * interactive REPL would not join). Blank lines and `//` comment lines between statements are skipped; `:quit` ends
 * the script. Not thread-safe.
 */
final class ScriptRunner(interpreter: StokerInterpreter) {

  /**
   * @param source the script's name for messages (a file name or `<stdin>`)
   * @return None when every statement ran, else where and why it failed
   */
  def run(reader: BufferedReader, source: String): Option[ScriptRunner.Failure] = {
    val lines = Iterator.continually(reader.readLine()).takeWhile(_ != null).toIndexedSeq
    var i = 0
    while (i < lines.length) {
      val trimmed = lines(i).trim
      if (trimmed.isEmpty || trimmed.startsWith("//")) {
        i += 1
      } else if (trimmed == ":quit" || trimmed == ":q") {
        return None
      } else if (trimmed.startsWith(":")) {
        return Some(ScriptRunner.Failure(source, i + 1, s"REPL command '$trimmed' is not supported in scripts" +
          " (only :quit)", null))
      } else {
        val start = i
        val (code, next) = statement(lines, i)
        i = next
        interpreter.interpret(code) match {
          case Results.Success =>
          case Results.Incomplete =>
            return Some(ScriptRunner.Failure(source, start + 1, "the statement is incomplete at the end of the script",
              null))
          case _ =>
            val cause = interpreter.lastFailure
            return Some(ScriptRunner.Failure(source, start + 1, Option(cause).map(ErrorText.brief)
              .getOrElse(s"`${code.linesIterator.next().trim}` does not compile (see the compiler's message above)"),
              cause))
        }
      }
    }
    None
  }

  /** @return the code of the statement starting at line `from`, and the index of the line after it */
  private def statement(lines: IndexedSeq[String], from: Int): (String, Int) = {
    val code = new StringBuilder(lines(from))
    var i = from + 1
    var more = true
    while (more) {
      interpreter.intp.parseString(code.toString) match {
        case Results.Incomplete if i < lines.length =>
          code.append('\n').append(lines(i))
          i += 1
        case Results.Success =>
          var j = i
          while (j < lines.length && lines(j).trim.isEmpty) j += 1
          if (j < lines.length && lines(j).trim.startsWith(".")) {
            (i to j).foreach(k => code.append('\n').append(lines(k)))
            i = j + 1
          } else {
            more = false
          }
        case _ =>
          more = false // incomplete at the end, or a syntax error: interpret reports it
      }
    }
    (code.toString, i)
  }
}

object ScriptRunner {
  /** Where and why a script failed; `cause` is the exception the statement threw (null for a compile error). */
  final case class Failure(source: String, line: Int, message: String, cause: Throwable) {
    override def toString: String = s"$source, line $line: $message"
  }
}
