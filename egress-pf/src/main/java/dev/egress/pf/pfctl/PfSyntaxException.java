package dev.egress.pf.pfctl;

/**
 * pfctl refused the rules it was given. That is a bug in the rendering, never the user's input: the
 * message quotes the line pfctl named.
 */
public final class PfSyntaxException extends PfctlException {
  private static final long serialVersionUID = 1L;

  private final int line;
  private final String offendingLine;

  PfSyntaxException(String command, int line, String offendingLine, String detail) {
    super(
        command,
        "pfctl rejected line " + line + " of the rules: " + detail + ": '" + offendingLine + "'",
        "this is a bug in egress-pf's rendering; report it with the line above and the pf version",
        null);
    this.line = line;
    this.offendingLine = offendingLine;
  }

  /** The 1-based line of standard input pfctl named. */
  public int line() {
    return line;
  }

  /** The text of that line, or empty when the input had no such line. */
  public String offendingLine() {
    return offendingLine;
  }
}
