package dev.egress.pf.pfctl;

import java.util.Objects;

/**
 * How a command ended.
 *
 * @param exitCode the exit status; 0 means success
 * @param stdout everything the command wrote to standard output
 * @param stderr everything the command wrote to standard error
 */
public record ProcessResult(int exitCode, String stdout, String stderr) {
  public ProcessResult {
    Objects.requireNonNull(stdout, "stdout");
    Objects.requireNonNull(stderr, "stderr");
  }
}
