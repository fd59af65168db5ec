package dev.egress.pf.pfctl;

import dev.egress.process.ProcessTimeoutException;

/**
 * pfctl did not answer in time and was killed, with sudo and every process it had started that the
 * process runner could kill (the cause names any survivor). What it had done by then is unknown.
 */
public final class PfctlTimeoutException extends PfctlException {
  private static final long serialVersionUID = 1L;

  PfctlTimeoutException(String command, ProcessTimeoutException cause) {
    super(
        command,
        "pfctl did not finish in time and was killed"
            + (cause.survivors().isEmpty()
                ? ""
                : ", but processes " + cause.survivors() + " of it were still alive"),
        "check that sudo does not wait for input and that the machine is not overloaded; the"
            + " enforcer re-reads pf's state before trusting it again",
        cause);
  }
}
