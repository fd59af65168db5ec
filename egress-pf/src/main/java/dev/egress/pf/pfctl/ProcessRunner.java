package dev.egress.pf.pfctl;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Runs one external command to completion: the seam between {@link Pfctl} and the operating system,
 * so that tests can put a fake pfctl behind it. {@link SystemProcessRunner} is the real one.
 *
 * <p>Implementations are thread-safe and block until the command has ended or been killed.
 */
@FunctionalInterface
public interface ProcessRunner {

  /**
   * Runs {@code command}, writes {@code stdin} to it (then closes its input), and collects its
   * output.
   *
   * @param command the program and its arguments, never interpreted by a shell
   * @param stdin the whole standard input, possibly empty
   * @param timeout how long the command may run; after that it is killed with its descendants
   * @return the exit status and what the command printed; a non-zero status is not an exception
   * @throws ProcessTimeoutException if the command ran longer than {@code timeout} and was killed
   * @throws IOException if the command could not be started or its pipes failed
   * @throws InterruptedException if interrupted while waiting; the command is killed first
   */
  ProcessResult run(List<String> command, String stdin, Duration timeout)
      throws IOException, InterruptedException;
}
