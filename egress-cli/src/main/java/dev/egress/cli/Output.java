package dev.egress.cli;

import dev.egress.policy.UserText;
import java.io.PrintWriter;
import java.util.List;
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

  static final int MAX_DIAGNOSTIC_LINES = 200;

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
      diagnostic(err, line);
    }
  }

  /** A note about the result (not an error) on standard error, silenced by {@code -q}. */
  void note(String line) {
    if (verbosity != Verbosity.QUIET) {
      diagnostic(err, line);
    }
  }

  /** An error on standard error, whatever the verbosity. */
  void error(String line) {
    diagnostic(err, line);
  }

  /**
   * Prints {@code text} on standard error the one way every diagnostic is printed: each line
   * through {@link UserText#line} (what a terminal would not show as itself escaped, long lines
   * cut), at most {@value #MAX_DIAGNOSTIC_LINES} lines, since diagnostics relay text from files,
   * arguments and other programs.
   */
  static void diagnostic(PrintWriter err, String text) {
    List<String> lines = text.isEmpty() ? List.of("") : text.lines().toList();
    lines.stream().limit(MAX_DIAGNOSTIC_LINES).map(UserText::line).forEach(err::println);
    if (lines.size() > MAX_DIAGNOSTIC_LINES) {
      err.println("... (" + (lines.size() - MAX_DIAGNOSTIC_LINES) + " more lines)");
    }
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
