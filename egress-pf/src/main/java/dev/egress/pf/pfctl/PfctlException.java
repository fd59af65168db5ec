package dev.egress.pf.pfctl;

import dev.egress.enforcer.EgressException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A pfctl call failed. Subclasses name the failures that have a known fix; this class itself is an
 * unclassified failure carrying pfctl's own words.
 */
public class PfctlException extends EgressException {
  private static final long serialVersionUID = 1L;

  private final String command;

  /**
   * @param command the command line that failed, as text
   * @param message what failed
   * @param hint how to fix it, or empty
   */
  public PfctlException(String command, String message, String hint, @Nullable Throwable cause) {
    super(message + " [" + command + "]", hint, cause);
    this.command = command;
  }

  /** The command line that failed. */
  public String command() {
    return command;
  }

  static String describe(List<String> command) {
    return String.join(" ", command);
  }
}
