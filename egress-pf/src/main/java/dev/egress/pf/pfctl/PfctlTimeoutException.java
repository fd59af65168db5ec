package dev.egress.pf.pfctl;

/** pfctl did not answer in time and was killed. What it had done by then is unknown. */
public final class PfctlTimeoutException extends PfctlException {
  private static final long serialVersionUID = 1L;

  PfctlTimeoutException(String command, ProcessTimeoutException cause) {
    super(
        command,
        "pfctl did not finish in time and was killed",
        "check that sudo does not wait for input and that the machine is not overloaded; the"
            + " enforcer re-reads pf's state before trusting it again",
        cause);
  }
}
