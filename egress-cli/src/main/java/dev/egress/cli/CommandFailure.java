package dev.egress.cli;

import java.util.List;

/**
 * Ends a command with an exit status and the lines that explain it (each already says what, where
 * and how to fix). {@link Egressctl} prints the lines on standard error.
 */
final class CommandFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;
  private final List<String> lines;

  CommandFailure(int exitCode, List<String> lines) {
    super(String.join("\n", lines));
    this.exitCode = exitCode;
    this.lines = List.copyOf(lines);
  }

  CommandFailure(int exitCode, String line) {
    this(exitCode, List.of(line));
  }

  int exitCode() {
    return exitCode;
  }

  List<String> lines() {
    return lines;
  }
}
