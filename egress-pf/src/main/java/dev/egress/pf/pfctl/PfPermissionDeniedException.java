package dev.egress.pf.pfctl;

/** pfctl ran but could not open /dev/pf: it is not running as root. */
public final class PfPermissionDeniedException extends PfctlException {
  private static final long serialVersionUID = 1L;

  PfPermissionDeniedException(String command, String detail) {
    super(
        command,
        "pfctl may not open /dev/pf: " + detail,
        "pfctl must run as root: keep the default command prefix 'sudo -n /sbin/pfctl' and the"
            + " sudoers line from the README",
        null);
  }
}
