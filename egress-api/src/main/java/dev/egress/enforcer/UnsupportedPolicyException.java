package dev.egress.enforcer;

/**
 * The enforcer cannot honour this policy as written (for example a wildcard host name, which needs
 * DNS filtering), so it refuses it instead of enforcing something narrower or wider.
 */
public final class UnsupportedPolicyException extends EgressException {
  private static final long serialVersionUID = 1L;

  public UnsupportedPolicyException(String message, String hint) {
    super(message, hint, null);
  }
}
