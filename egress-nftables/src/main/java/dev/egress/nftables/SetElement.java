package dev.egress.nftables;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import java.net.InetAddress;
import java.util.Comparator;
import java.util.Objects;

/**
 * One element of a container's host set ({@link HostSets}): connections over {@code protocol} to
 * {@code ports} of {@code address}, written {@code 192.0.2.1 . tcp . 443} or {@code 192.0.2.1 . tcp
 * . 8000-8100}, as nft lists it.
 *
 * @param address where the connections go
 * @param protocol their protocol
 * @param ports their destination ports
 */
record SetElement(InetAddress address, Protocol protocol, PortRange ports)
    implements Comparable<SetElement> {

  /**
   * What a listed element that is none of ours reads as: no set of ours ever holds it (an allow
   * line never opens port 53, and no name resolves to {@code ::}), so a drift check sees it.
   */
  static final SetElement UNREADABLE =
      new SetElement(IpAddresses.parse("::"), Protocol.TCP, PortRange.of(PortRange.DNS_PORT));

  private static final Comparator<SetElement> ORDER =
      Comparator.comparing((SetElement element) -> IpNetwork.host(element.address))
          .thenComparing(SetElement::protocol)
          .thenComparing(SetElement::ports);

  SetElement {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(ports, "ports");
  }

  /** The element nft lists as {@code text}, or {@link #UNREADABLE}. */
  static SetElement parse(String text) {
    String[] parts = text.strip().split(" \\. ", -1);
    if (parts.length != 3) {
      return UNREADABLE;
    }
    try {
      return new SetElement(
          IpAddresses.parse(parts[0]), Protocol.fromKeyword(parts[1]), PortRange.parse(parts[2]));
    } catch (IllegalArgumentException e) {
      return UNREADABLE;
    }
  }

  @Override
  public int compareTo(SetElement other) {
    return ORDER.compare(this, other);
  }

  @Override
  public String toString() {
    return IpAddresses.format(address) + " . " + protocol.keyword() + " . " + ports;
  }
}
