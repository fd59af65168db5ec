package dev.egress.dns;

import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * What the resolver knows about one name, for operators: see {@link DnsNameResolver#status()}.
 *
 * @param name the name
 * @param addresses the addresses currently published for it (what enforcers allow)
 * @param expires when the earliest of these addresses' (clamped) TTL ends; null when it has none
 * @param lastError the failure of the latest lookup; null when it succeeded (or none finished yet)
 * @param graceEnds when the addresses kept after failures are dropped; null when not in grace
 * @param subscribers how many subscriptions watch the name
 */
public record NameStatus(
    HostName name,
    Set<InetAddress> addresses,
    @Nullable Instant expires,
    @Nullable LookupError lastError,
    @Nullable Instant graceEnds,
    int subscribers) {

  public NameStatus {
    Objects.requireNonNull(name, "name");
    addresses = Set.copyOf(addresses);
    if (subscribers < 0) {
      throw new IllegalArgumentException("subscribers must not be negative: " + subscribers);
    }
  }

  /** Whether the name's addresses are last-known-good ones, kept after failed lookups. */
  public boolean inGrace() {
    return graceEnds != null;
  }

  /**
   * One line for an operator, such as {@code api.example.com 192.0.2.1,2001:db8::1 expires
   * 2026-01-01T00:01:00Z} or {@code cdn.example.com 192.0.2.7 expires ... IN GRACE until ... (last
   * error TIMEOUT: ...)}.
   */
  public String describe() {
    StringBuilder line = new StringBuilder(name.ascii()).append(' ');
    line.append(
        addresses.isEmpty()
            ? "(no addresses)"
            : addresses.stream()
                .map(IpAddresses::format)
                .sorted()
                .collect(Collectors.joining(",")));
    if (expires != null) {
      line.append(" expires ").append(expires);
    }
    if (graceEnds != null) {
      line.append(" IN GRACE until ").append(graceEnds);
    }
    if (lastError != null) {
      line.append(" (last error ")
          .append(lastError.kind())
          .append(" at ")
          .append(lastError.at())
          .append(": ")
          .append(lastError.detail())
          .append(')');
    }
    return line.append(" subscribers=").append(subscribers).toString();
  }
}
