package dev.egress.examples.container;

import java.util.ArrayList;
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

  /**
   * One line for error messages: the command, its status and the first line of its stderr. The
   * values of {@code --env}/{@code -e} arguments are replaced by "…": they may hold secrets.
   */
  public String describe() {
    String firstLine = stderr.strip().lines().findFirst().orElse("");
    return "'"
        + String.join(" ", redacted(command))
        + "' exited with "
        + exitCode
        + (firstLine.isEmpty() ? "" : ": " + firstLine);
  }

  /** {@code command} with environment values replaced, for logs and messages. */
  public static List<String> redacted(List<String> command) {
    List<String> shown = new ArrayList<>(command);
    for (int i = 1; i < shown.size(); i++) {
      String previous = shown.get(i - 1);
      if (previous.equals("--env") || previous.equals("-e")) {
        String pair = shown.get(i);
        int equals = pair.indexOf('=');
        shown.set(i, (equals < 0 ? pair : pair.substring(0, equals)) + "=…");
      }
    }
    return shown;
  }
}
