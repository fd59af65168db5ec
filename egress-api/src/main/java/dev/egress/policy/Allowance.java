package dev.egress.policy;

import java.util.Comparator;

/**
 * One thing a policy allows: connections to {@code destination} over {@code protocol} on {@code
 * ports}.
 */
public record Allowance(Destination destination, Protocol protocol, PortRange ports)
    implements Comparable<Allowance> {
  private static final Comparator<Allowance> ORDER =
      Comparator.comparing(Allowance::destination)
          .thenComparing(Allowance::protocol)
          .thenComparing(Allowance::ports);

  public Allowance {
    java.util.Objects.requireNonNull(destination, "destination");
    java.util.Objects.requireNonNull(protocol, "protocol");
    java.util.Objects.requireNonNull(ports, "ports");
  }

  @Override
  public int compareTo(Allowance other) {
    return ORDER.compare(this, other);
  }

  /** The policy-file line: {@code allow api.anthropic.com port 443 proto tcp}. */
  @Override
  public String toString() {
    return "allow " + destination + " port " + ports + " proto " + protocol.keyword();
  }
}
