package dev.egress.process;

import java.time.Duration;
import java.util.List;

/**
 * A caller for {@link SystemProcessRunnerTest} to kill: {@code RunAndWait BYTES SCRIPT} runs {@code
 * sh SCRIPT} through {@link SystemProcessRunner} with {@code BYTES} bytes of standard input.
 */
final class RunAndWait {
  private RunAndWait() {}

  public static void main(String[] args) throws Exception {
    new SystemProcessRunner()
        .run(
            new Command(
                List.of("sh", args[1]),
                "x".repeat(Integer.parseInt(args[0])),
                Duration.ofMinutes(5)));
  }
}
