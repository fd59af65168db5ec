package dev.egress.policy;

import java.util.Locale;

/** A transport protocol a policy can allow. Anything else (ICMP, SCTP, ...) is always denied. */
public enum Protocol {
  TCP,
  UDP;

  /** The lower-case name used in policy files, pf and nftables: {@code tcp} or {@code udp}. */
  public String keyword() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The protocol named by {@code keyword}, case-insensitively.
   *
   * @throws IllegalArgumentException if it is neither {@code tcp} nor {@code udp}
   */
  public static Protocol fromKeyword(String keyword) {
    for (Protocol protocol : values()) {
      if (protocol.keyword().equalsIgnoreCase(keyword)) {
        return protocol;
      }
    }
    throw new IllegalArgumentException(
        "unknown protocol " + UserText.quote(keyword) + ": expected tcp or udp");
  }
}
