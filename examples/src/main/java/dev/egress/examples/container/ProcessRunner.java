package dev.egress.examples.container;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Runs a command to completion. The seam between {@link ContainerCli} and the operating system, so
 * tests can run a fake {@code container} in-process or from the {@code PATH}.
 *
 * <p>Implementations are thread-safe; each call blocks until the process has exited or the timeout
 * has passed.
 */
@FunctionalInterface
public interface ProcessRunner {

  /**
   * Runs {@code command} (no shell: arguments are passed as they are) and collects its output.
   *
   * @throws IOException if the process cannot be started, or did not finish within {@code timeout}
   *     (it is then killed)
   * @throws InterruptedException if interrupted while waiting; the process is killed
   */
  ProcessResult run(List<String> command, Duration timeout)
      throws IOException, InterruptedException;
}
