package dev.egress.process;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A command could not be run to its end: it did not start ({@link ProcessStartException}), it
 * outran its timeout ({@link ProcessTimeoutException}), or its output could not be read. The
 * message names the command (as {@link Command#shown}), how long it ran, and what to do.
 */
public class ProcessException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String command;
  private final Duration elapsed;

  /**
   * @param command the command as {@link Command#shown} shows it
   * @param elapsed how long after its start the runner gave up on it
   * @param message what happened and what to do, without the command (this adds it)
   */
  public ProcessException(
      String command, Duration elapsed, String message, @Nullable Throwable cause) {
    super("'" + command + "' " + message, cause);
    this.command = Objects.requireNonNull(command, "command");
    this.elapsed = Objects.requireNonNull(elapsed, "elapsed");
  }

  /** The command as {@link Command#shown} shows it. */
  public String command() {
    return command;
  }

  /** How long after its start the runner gave up on the command. */
  public Duration elapsed() {
    return elapsed;
  }
}
