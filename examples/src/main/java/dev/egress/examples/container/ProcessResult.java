package dev.egress.examples.container;

import java.util.List;
import java.util.Objects;

/**
 * How a finished process ended.
 *
 * @param command the command line that ran
 * @param exitCode its exit status
 * @param stdout everything it wrote to standard output, as UTF-8
 * @param stderr everything it wrote to standard error, as UTF-8
 */
public record ProcessResult(List<String> command, int exitCode, String stdout, String stderr) {
  public ProcessResult {
    command = List.copyOf(command);
    Objects.requireNonNull(stdout, "stdout");
    Objects.requireNonNull(stderr, "stderr");
  }

  public boolean succeeded() {
    return exitCode == 0;
  }

  /** One line for error messages: the command, its status and the first line of its stderr. */
  public String describe() {
    String firstLine = stderr.strip().lines().findFirst().orElse("");
    return "'" + String.join(" ", command) + "' exited with " + exitCode
        + (firstLine.isEmpty() ? "" : ": " + firstLine);
  }
}
