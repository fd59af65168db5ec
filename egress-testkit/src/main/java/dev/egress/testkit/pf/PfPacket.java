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
 * @param destinationPort 0-65535 for TCP and UDP; 0 for ICMP and ICMPv6
 * @param icmp6Type the ICMPv6 type (0-255) for ICMPv6, such as 135 for a neighbour solicitation;
 *     {@link #NO_TYPE} for the other protocols
 */
public record PfPacket(
    Direction direction,
    String interfaceName,
    IpProtocol protocol,
    InetAddress source,
    InetAddress destination,
    int destinationPort,
    int icmp6Type) {

  /** The {@code icmp6Type} of packets that are not ICMPv6. */
  public static final int NO_TYPE = -1;

  /** ICMPv6 echo request, the type of ICMPv6 packets made without one. */
  public static final int ECHO_REQUEST = 128;

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
    if (protocol == IpProtocol.ICMP6 ? icmp6Type < 0 || icmp6Type > 255 : icmp6Type != NO_TYPE) {
      throw new IllegalArgumentException(
          "ICMPv6 type " + icmp6Type + " does not suit " + protocol.keyword());
    }
  }

  /** A packet of any protocol but ICMPv6 (which this makes an {@link #ECHO_REQUEST}). */
  public PfPacket(
      Direction direction,
      String interfaceName,
      IpProtocol protocol,
      InetAddress source,
      InetAddress destination,
      int destinationPort) {
    this(
        direction,
        interfaceName,
        protocol,
        source,
        destination,
        destinationPort,
        protocol == IpProtocol.ICMP6 ? ECHO_REQUEST : NO_TYPE);
  }

  /** An ICMPv6 packet of {@code type} arriving on {@code interfaceName}. */
  public static PfPacket icmp6In(
      String interfaceName, InetAddress source, InetAddress destination, int type) {
    return new PfPacket(
        Direction.IN, interfaceName, IpProtocol.ICMP6, source, destination, 0, type);
  }

  /**
   * The answer to this packet: the other direction on the same interface, source and destination
   * swapped, to {@code initiatorPort} (the port the first packet came from).
   *
   * @throws IllegalArgumentException if the protocol carries no ports
   */
  public PfPacket reply(int initiatorPort) {
    if (!protocol.hasPorts()) {
      throw new IllegalArgumentException("only tcp and udp replies are modelled");
    }
    return new PfPacket(
        direction == Direction.IN ? Direction.OUT : Direction.IN,
        interfaceName,
        protocol,
        destination,
        source,
        initiatorPort);
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
        + (protocol.hasPorts() ? " port " + destinationPort : "")
        + (protocol == IpProtocol.ICMP6 ? " icmp6-type " + icmp6Type : "");
  }
}
