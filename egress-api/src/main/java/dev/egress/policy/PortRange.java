package dev.egress.policy;

/**
 * An inclusive range of TCP or UDP ports, {@code 1 <= first <= last <= 65535}.
 *
 * @param first the lowest port in the range
 * @param last the highest port in the range
 */
public record PortRange(int first, int last) implements Comparable<PortRange> {
  /** The DNS port. Policies decide it through their {@link DnsRule} alone. */
  public static final int DNS_PORT = 53;

  public PortRange {
    if (first < 1 || first > 65535) {
      throw new IllegalArgumentException("port " + first + " is out of range 1-65535");
    }
    if (last < 1 || last > 65535) {
      throw new IllegalArgumentException("port " + last + " is out of range 1-65535");
    }
    if (first > last) {
      throw new IllegalArgumentException(
          "port range " + first + "-" + last + " is reversed: write " + last + "-" + first);
    }
  }

  /** The range holding the single port {@code port}. */
  public static PortRange of(int port) {
    return new PortRange(port, port);
  }

  /** All ports, 1-65535. */
  public static PortRange all() {
    return new PortRange(1, 65535);
  }

  /**
   * Parses {@code 443} or {@code 5432-5433}.
   *
   * @throws IllegalArgumentException if the text is not a port or an ordered range of ports
   */
  public static PortRange parse(String text) {
    int dash = text.indexOf('-');
    if (dash < 0) {
      return of(parsePort(text));
    }
    return new PortRange(parsePort(text.substring(0, dash)), parsePort(text.substring(dash + 1)));
  }

  private static int parsePort(String text) {
    if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(
          UserText.quote(text) + " is not a port: expected a number from 1 to 65535");
    }
    return Integer.parseInt(text);
  }

  public boolean contains(int port) {
    return first <= port && port <= last;
  }

  public boolean isSinglePort() {
    return first == last;
  }

  /** The number of ports in the range. */
  public int size() {
    return last - first + 1;
  }

  @Override
  public int compareTo(PortRange other) {
    return first != other.first
        ? Integer.compare(first, other.first)
        : Integer.compare(last, other.last);
  }

  /** {@code 443} or {@code 5432-5433}: the policy-file form, which {@link #parse} reads back. */
  @Override
  public String toString() {
    return isSinglePort() ? Integer.toString(first) : first + "-" + last;
  }
}
