package dev.egress.testkit.pf;

import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Objects;

/**
 * The first packet of a connection as pf sees it, for {@link PfEvaluator}.
 *
 * @param direction {@code IN} for what arrives on {@code interfaceName} (a container's traffic
 *     arrives on the host's bridge), {@code OUT} for what leaves through it
 * @param interfaceName the interface pf sees the packet on, such as {@code bridge100}
 * @param protocol the IP protocol
 * @param source the source address
 * @param destination the destination address, of the same family as {@code source}
 * @param destinationPort 0-65535 for TCP and UDP; 0 for ICMP
 */
public record PfPacket(
    Direction direction,
    String interfaceName,
    IpProtocol protocol,
    InetAddress source,
    InetAddress destination,
    int destinationPort) {

  /** Which way the packet crosses the interface. */
  public enum Direction {
    IN,
    OUT
  }

  /** The IP protocols the evaluator knows, with their pf keywords. */
  public enum IpProtocol {
    TCP,
    UDP,
    ICMP,
    ICMP6;

    /** The pf keyword: {@code tcp}, {@code udp}, {@code icmp} or {@code icmp6}. */
    public String keyword() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Whether packets of this protocol carry ports. */
    public boolean hasPorts() {
      return this == TCP || this == UDP;
    }
  }

  /**
   * @throws IllegalArgumentException if the addresses differ in family, the interface name is
   *     blank, or the port does not suit the protocol
   */
  public PfPacket {
    Objects.requireNonNull(direction, "direction");
    Objects.requireNonNull(interfaceName, "interfaceName");
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(destination, "destination");
    if (interfaceName.isBlank()) {
      throw new IllegalArgumentException("a packet needs the interface pf sees it on");
    }
    if (IpAddresses.isIpv6(source) != IpAddresses.isIpv6(destination)) {
      throw new IllegalArgumentException(
          "source "
              + IpAddresses.format(source)
              + " and destination "
              + IpAddresses.format(destination)
              + " are of different address families");
    }
    if (protocol.hasPorts()
        ? destinationPort < 0 || destinationPort > 65535
        : destinationPort != 0) {
      throw new IllegalArgumentException(
          "port "
              + destinationPort
              + " does not suit "
              + protocol.keyword()
              + " (0-65535 for tcp and udp, 0 otherwise)");
    }
  }

  /** A packet arriving on {@code interfaceName}, as a container's traffic reaches the host. */
  public static PfPacket in(
      String interfaceName,
      IpProtocol protocol,
      InetAddress source,
      InetAddress destination,
      int destinationPort) {
    return new PfPacket(
        Direction.IN, interfaceName, protocol, source, destination, destinationPort);
  }

  /** Whether the packet is IPv6. */
  public boolean isIpv6() {
    return IpAddresses.isIpv6(source);
  }

  @Override
  public String toString() {
    return direction.name().toLowerCase(Locale.ROOT)
        + " on "
        + interfaceName
        + " "
        + protocol.keyword()
        + " "
        + IpAddresses.format(source)
        + " -> "
        + IpAddresses.format(destination)
        + (protocol.hasPorts() ? " port " + destinationPort : "");
  }
}
