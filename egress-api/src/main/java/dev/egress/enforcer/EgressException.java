package dev.egress.enforcer;

/**
 * An enforcer could not do what was asked. The message says what failed and, where one is known,
 * how to fix it ({@link #hint()}). Whatever the operation, the failure never leaves a container
 * with more network than the policy it was last given: see each method's contract.
 */
public class EgressException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String hint;

  public EgressException(String message) {
    this(message, "", null);
  }

  public EgressException(String message, Throwable cause) {
    this(message, "", cause);
  }

  /**
   * @param message what failed
   * @param hint how to fix it, or empty
   * @param cause the underlying failure, or null
   */
  public EgressException(
      String message, String hint, @org.jspecify.annotations.Nullable Throwable cause) {
    super(hint.isEmpty() ? message : message + " (" + hint + ")", cause);
    this.hint = hint;
  }

  /** How to fix the problem, or empty when nothing better than the message is known. */
  public String hint() {
    return hint;
  }
}
