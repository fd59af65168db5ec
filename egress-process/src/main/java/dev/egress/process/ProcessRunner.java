package dev.egress.process;

import java.io.IOException;

/**
 * Runs one external program to completion: the seam between the project and the operating system,
 * so that a test can put a fake program (FakePfctl, a fake container CLI) behind the same calls.
 * {@link SystemProcessRunner} is the one real implementation.
 *
 * <p>Implementations are thread-safe; a call blocks until the program has ended or been killed, at
 * most about its timeout. Calls are not idempotent: each runs the program again.
 */
@FunctionalInterface
public interface ProcessRunner {

  /**
   * Runs {@code command}: starts it, writes its standard input and closes it, and collects its
   * output.
   *
   * @return how it ended; a non-zero exit status is a result, not an exception
   * @throws ProcessStartException if the program could not be started; nothing ran
   * @throws ProcessTimeoutException if it outran its timeout; it was killed, with the processes it
   *     had started, before this was thrown, but what it did until then stays done
   * @throws IOException if it could not be run to its end otherwise (a {@link ProcessException}
   *     from the system runner; fakes may throw any)
   * @throws InterruptedException if the calling thread was interrupted while waiting; the program
   *     was killed as at a timeout first
   */
  ProcessResult run(Command command) throws IOException, InterruptedException;
}
