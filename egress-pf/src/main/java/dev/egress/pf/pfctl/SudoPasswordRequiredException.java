package dev.egress.pf.pfctl;

/**
 * sudo asked for a password, which a non-interactive call cannot give. The hint names the
 * least-privilege fix ({@code egressctl sudoers}) first, and the broad sudoers line only as the
 * simple alternative, labelled with what it also permits.
 */
public final class SudoPasswordRequiredException extends PfctlException {
  private static final long serialVersionUID = 1L;

  private final String broadSudoersLine;

  SudoPasswordRequiredException(String command, String broadSudoersLine) {
    super(
        command,
        "sudo needs a password to run pfctl",
        "install the least-privilege sudoers entry 'egressctl sudoers' prints, with the wrapper"
            + " script it names ('egressctl sudoers --wrapper'), which runs pfctl only with"
            + " egress-pf's own calls; then run pfctl through that wrapper (see 'egressctl sudoers"
            + " --help'). Simple alternative, which also lets this user disable pf ('pfctl -d') and"
            + " flush every rule ('pfctl -F all'): run 'sudo visudo -f /etc/sudoers.d/egress' and"
            + " add the line: "
            + broadSudoersLine,
        null);
    this.broadSudoersLine = broadSudoersLine;
  }

  /**
   * The simple but broad sudoers line: it lets this user run pfctl with any arguments, without a
   * password. Prefer the entry {@code egressctl sudoers} prints.
   */
  public String broadSudoersLine() {
    return broadSudoersLine;
  }
}
