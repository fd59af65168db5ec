package dev.egress.process;

import java.util.Objects;

/**
 * How a command ended. Its output is kept up to a limit per stream ({@link SystemProcessRunner}'s);
 * what came after is counted, not kept, so a command that prints without end cannot exhaust memory.
 * A caller that parses standard output checks {@link #stdoutComplete()} first.
 *
 * @param exitCode the exit status; 0 means success. A process killed by a signal N reports 128 + N
 * @param stdout the head of what the command wrote to standard output, as UTF-8
 * @param stderr the head of what it wrote to standard error, as UTF-8
 * @param droppedStdoutBytes how many bytes of standard output came after the kept head
 * @param droppedStderrBytes how many bytes of standard error came after the kept head
 */
public record ProcessResult(
    int exitCode, String stdout, String stderr, long droppedStdoutBytes, long droppedStderrBytes) {
  public ProcessResult {
    Objects.requireNonNull(stdout, "stdout");
    Objects.requireNonNull(stderr, "stderr");
    if (droppedStdoutBytes < 0 || droppedStderrBytes < 0) {
      throw new IllegalArgumentException("dropped byte counts are not negative");
    }
  }

  /** A result with all of its output, as fakes return it. */
  public ProcessResult(int exitCode, String stdout, String stderr) {
    this(exitCode, stdout, stderr, 0, 0);
  }

  /** Whether the exit status is 0. */
  public boolean succeeded() {
    return exitCode == 0;
  }

  /** Whether {@link #stdout} is all the command printed there. */
  public boolean stdoutComplete() {
    return droppedStdoutBytes == 0;
  }

  /** For messages: {@code "exited with 3: "} and the first line of standard error. */
  public String summary() {
    String firstLine = stderr.strip().lines().findFirst().orElse("").strip();
    return "exited with " + exitCode + (firstLine.isEmpty() ? "" : ": " + firstLine);
  }
}
