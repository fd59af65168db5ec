package dev.egress.plan;

import dev.egress.policy.PortRange;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The ports an allow line opens: a range with port 53 taken out, because DNS is the DNS rule's
 * alone (an open port 53 is a tunnel). Held as its span, never starting or ending at 53, so that
 * equal sets of ports are equal values and a span names its ports unambiguously.
 *
 * @param span the lowest and highest port; neither is 53
 */
public record Ports(PortRange span) implements Comparable<Ports> {
  /**
   * @throws IllegalArgumentException if the span starts or ends at 53
   */
  public Ports {
    if (span.first() == PortRange.DNS_PORT || span.last() == PortRange.DNS_PORT) {
      throw new IllegalArgumentException(
          "ports " + span + " start or end at 53, which allow lines never open");
    }
  }

  /** The ports of {@code range} but 53; empty when that leaves none (the range is 53 alone). */
  public static Optional<Ports> allowedBy(PortRange range) {
    int first = range.first() == PortRange.DNS_PORT ? PortRange.DNS_PORT + 1 : range.first();
    int last = range.last() == PortRange.DNS_PORT ? PortRange.DNS_PORT - 1 : range.last();
    return first <= last ? Optional.of(new Ports(new PortRange(first, last))) : Optional.empty();
  }

  public boolean contains(int port) {
    return port != PortRange.DNS_PORT && span.contains(port);
  }

  /** Whether every port of {@code other} is one of these. */
  public boolean includes(Ports other) {
    return span.first() <= other.span.first() && other.span.last() <= span.last();
  }

  /** The ports as ranges in order: one, or two when the span goes across 53. */
  public List<PortRange> ranges() {
    List<PortRange> ranges = new ArrayList<>();
    if (span.contains(PortRange.DNS_PORT)) {
      ranges.add(new PortRange(span.first(), PortRange.DNS_PORT - 1));
      ranges.add(new PortRange(PortRange.DNS_PORT + 1, span.last()));
    } else {
      ranges.add(span);
    }
    return List.copyOf(ranges);
  }

  @Override
  public int compareTo(Ports other) {
    return span.compareTo(other.span);
  }

  @Override
  public String toString() {
    return span.contains(PortRange.DNS_PORT) ? span + " but 53" : span.toString();
  }
}
