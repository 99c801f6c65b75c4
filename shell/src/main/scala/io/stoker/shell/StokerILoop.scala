package io.stoker.shell

import scala.tools.nsc.Settings
import scala.tools.nsc.interpreter.shell.{ILoop, ShellConfig}

/**
 * The interactive shell: the Scala REPL's loop (JLine editing, completion, `:help`, `:paste`...) over an already
 * started [[StokerInterpreter]], so `spark` and the imports are there from the first prompt.
 */
final class StokerILoop(interpreter: StokerInterpreter, banner: String)
  extends ILoop(ShellConfig(interpreter.settings)) {

  override def welcome: String = banner

  /** Uses the started interpreter instead of creating one. */
  override def createInterpreter(interpreterSettings: Settings): Unit = {
    intp = interpreter.intp
  }

  /** Runs the loop until `:quit` or end of input. @return false when `:quit` ended it, true at end of input */
  def runLoop(): Boolean = run(interpreter.settings)
}
