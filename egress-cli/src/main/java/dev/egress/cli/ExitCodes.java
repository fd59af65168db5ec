package dev.egress.cli;

/**
 * What egressctl's exit status means. Scripts branch on it, so each value has one meaning on every
 * command.
 */
public final class ExitCodes {
  private ExitCodes() {}

  /** Done; the policy is valid, the host can enforce, nothing needs attention. */
  public static final int OK = 0;

  /**
   * The input is invalid (a policy that does not parse, a file that cannot be read, an address a
   * policy cannot use) or the command found something that needs attention (drift, rule sets of
   * containers that no longer run, a host check that failed but does not stop enforcement).
   */
  public static final int FINDINGS = 1;

  /** The command line itself is wrong: unknown option, missing argument. Usage is printed. */
  public static final int USAGE = 2;

  /**
   * The host cannot enforce egress policies (filter disabled, hook missing, tool absent) or a
   * privileged call failed: nothing on the host was changed by this command beyond what it reports.
   */
  public static final int CANNOT_ENFORCE = 3;

  /** A bug in egressctl: an unexpected exception. The stack trace is printed with -v. */
  public static final int INTERNAL_ERROR = 70;
}
