package dev.egress.process;

import java.time.Duration;
import java.util.List;

/**
 * A command outran its timeout and was killed, with every process it had started that the runner
 * could find, before this was thrown. What the command did before it was killed is not undone: a
 * caller that cares reads back the state the command changes.
 *
 * <p>{@link #survivors()} lists the processes that were still alive when the runner stopped waiting
 * for them (see {@link SystemProcessRunner} for when that can happen); empty means the whole tree
 * is gone.
 */
public final class ProcessTimeoutException extends ProcessException {
  private static final long serialVersionUID = 1L;

  private final Duration timeout;
  private final List<Long> survivors;

  /** The command was killed at its timeout, and nothing of it survived. */
  public ProcessTimeoutException(Command command, Duration elapsed) {
    this(
        command,
        elapsed,
        "did not finish within "
            + command.timeout().toMillis()
            + " ms and was killed with the processes it had started, all gone "
            + elapsed.toMillis()
            + " ms after it started. "
            + ADVICE,
        List.of());
  }

  static final String ADVICE =
      "Whatever it did before it was killed stays done: read back what it changes before relying"
          + " on it. If it waited for input (sudo asking for a password) make it not wait; if the"
          + " machine is overloaded, allow a longer timeout.";

  ProcessTimeoutException(Command command, Duration elapsed, String message, List<Long> survivors) {
    super(command.shown(), elapsed, message, null);
    this.timeout = command.timeout();
    this.survivors = List.copyOf(survivors);
  }

  /** The timeout the command outran. */
  public Duration timeout() {
    return timeout;
  }

  /** The pids of processes of the command's tree still alive when the runner gave up on them. */
  public List<Long> survivors() {
    return survivors;
  }
}
