package dev.egress.cli;

import java.io.PrintWriter;
import java.util.Objects;

/**
 * Where a command writes: results to standard output, diagnostics to standard error. {@code -q}
 * silences notes and successes (never results or errors), {@code -v} adds details; colour is used
 * only when {@link CliHost#colour()} allows it.
 *
 * <p>Not thread-safe: one command writes from one thread.
 */
final class Output {
  enum Verbosity {
    QUIET,
    NORMAL,
    VERBOSE
  }

  private static final String RESET = "\u001b[0m";
  private static final String RED = "\u001b[31m";
  private static final String GREEN = "\u001b[32m";
  private static final String YELLOW = "\u001b[33m";

  private final PrintWriter out;
  private final PrintWriter err;
  private final Verbosity verbosity;
  private final boolean colour;

  Output(PrintWriter out, PrintWriter err, Verbosity verbosity, boolean colour) {
    this.out = Objects.requireNonNull(out, "out");
    this.err = Objects.requireNonNull(err, "err");
    this.verbosity = Objects.requireNonNull(verbosity, "verbosity");
    this.colour = colour;
  }

  /** The command's result, on standard output, whatever the verbosity. */
  void result(String line) {
    out.println(line);
    out.flush();
  }

  /** Text exactly as given (a ruleset, JSON), on standard output. */
  void raw(String text) {
    out.print(text);
    out.flush();
  }

  /** A confirmation on standard output, silenced by {@code -q}. */
  void info(String line) {
    if (verbosity != Verbosity.QUIET) {
      result(line);
    }
  }

  /** A detail on standard error, shown only with {@code -v}. */
  void detail(String line) {
    if (verbosity == Verbosity.VERBOSE) {
      err.println(line);
      err.flush();
    }
  }

  /** A note about the result (not an error) on standard error, silenced by {@code -q}. */
  void note(String line) {
    if (verbosity != Verbosity.QUIET) {
      err.println(line);
      err.flush();
    }
  }

  /** An error on standard error, whatever the verbosity. */
  void error(String line) {
    err.println(line);
    err.flush();
  }

  boolean verbose() {
    return verbosity == Verbosity.VERBOSE;
  }

  String good(String text) {
    return paint(GREEN, text);
  }

  String bad(String text) {
    return paint(RED, text);
  }

  String warning(String text) {
    return paint(YELLOW, text);
  }

  private String paint(String code, String text) {
    return colour ? code + text + RESET : text;
  }
}
