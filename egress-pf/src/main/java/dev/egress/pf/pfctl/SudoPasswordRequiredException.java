package dev.egress.pf.pfctl;

/** sudo asked for a password, which a non-interactive call cannot give. */
public final class SudoPasswordRequiredException extends PfctlException {
  private static final long serialVersionUID = 1L;

  private final String sudoersLine;

  SudoPasswordRequiredException(String command, String sudoersLine) {
    super(
        command,
        "sudo needs a password to run pfctl",
        "allow it without one: run 'sudo visudo -f /etc/sudoers.d/egress' and add the line: "
            + sudoersLine,
        null);
    this.sudoersLine = sudoersLine;
  }

  /** The sudoers line that lets this user run pfctl without a password. */
  public String sudoersLine() {
    return sudoersLine;
  }
}
