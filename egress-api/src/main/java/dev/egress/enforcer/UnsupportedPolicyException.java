package dev.egress.enforcer;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The enforcer cannot honour this policy as written (for example a wildcard host name, which needs
 * DNS filtering), so it refuses it instead of enforcing something narrower or wider.
 */
public final class UnsupportedPolicyException extends EgressException {
  private static final long serialVersionUID = 1L;

  public UnsupportedPolicyException(String message, String hint) {
    super(message, hint, null);
  }

  /**
   * The refusal of {@code enforcer} (such as "the nftables enforcer"), built without a DNS filter,
   * for a policy that {@link EgressPolicy#requiresDnsFiltering needs one}: the message names what
   * needs it ({@code dns filter}, the wildcard names).
   */
  public static UnsupportedPolicyException withoutDnsFilter(String enforcer, EgressPolicy policy) {
    List<String> needs = new ArrayList<>();
    if (policy.filtersDns()) {
      needs.add("'dns filter'");
    }
    if (!policy.wildcardNames().isEmpty()) {
      needs.add(
          "the wildcard host names "
              + policy.wildcardNames().stream()
                  .map(HostName::toString)
                  .collect(Collectors.joining(", ")));
    }
    return new UnsupportedPolicyException(
        "the policy needs a DNS filter for "
            + String.join(" and ", needs)
            + ", and "
            + enforcer
            + " was built without one: it filters addresses and does not see which name a"
            + " container looked up",
        "build the enforcer with a DNS filter, or list each host name the container needs and"
            + " name its resolvers ('dns gateway' or addresses)");
  }
}
