package dev.egress.process;

import java.io.IOException;
import java.time.Duration;

/** The program could not be started: not found, not executable, or no resources to fork. */
public final class ProcessStartException extends ProcessException {
  private static final long serialVersionUID = 1L;

  public ProcessStartException(Command command, Duration elapsed, IOException cause) {
    super(
        command.shown(),
        elapsed,
        "could not be started: "
            + cause.getMessage()
            + ". Check that "
            + command.program()
            + " is installed and executable"
            + (command.program().contains("/")
                ? ""
                : " and on the PATH ("
                    + System.getenv().getOrDefault("PATH", "")
                    + "), or give its full path"),
        cause);
  }
}
