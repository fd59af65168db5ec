package dev.egress.audit;

import java.util.Arrays;
import java.util.Optional;

/** Why the filter refused a packet: which of the enforcer's rules refused it. */
public enum Reason {
  /** The container's own rules: the policy names no such destination, port or protocol. */
  NOT_IN_POLICY("not-in-policy"),
  /** The container's own rules: DNS (port 53) to a resolver its policy does not name. */
  DNS_FOREIGN_RESOLVER("dns-foreign-resolver"),
  /** The guard: a source address of the managed network that no attached container holds. */
  GUARD_UNATTACHED("guard-unattached"),
  /** The guard: a source address outside the managed network, sent from inside it (forged). */
  SPOOFED_SOURCE("spoofed-source");

  private final String wireName;

  Reason(String wireName) {
    this.wireName = wireName;
  }

  /** The name the audit file and the schema use, such as {@code not-in-policy}. */
  public String wireName() {
    return wireName;
  }

  /** The reason of {@code wireName}, or empty when there is none of that name. */
  public static Optional<Reason> ofWireName(String wireName) {
    return Arrays.stream(values()).filter(r -> r.wireName.equals(wireName)).findFirst();
  }
}
