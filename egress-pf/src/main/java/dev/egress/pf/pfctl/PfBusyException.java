package dev.egress.pf.pfctl;

/** The pf device was busy (another ruleset transaction ran at the same time); retrying helps. */
public final class PfBusyException extends PfctlException {
  private static final long serialVersionUID = 1L;

  PfBusyException(String command, String detail) {
    super(
        command,
        "pf was busy: " + detail,
        "another program changed pf at the same moment; the call is safe to retry",
        null);
  }
}
