package dev.egress.pf.pfctl;

import java.io.IOException;
import java.time.Duration;

/** A command ran longer than its timeout and was killed, with its descendants. */
public final class ProcessTimeoutException extends IOException {
  private static final long serialVersionUID = 1L;

  public ProcessTimeoutException(String command, Duration timeout) {
    super("'" + command + "' did not finish within " + timeout.toMillis() + " ms and was killed");
  }
}
