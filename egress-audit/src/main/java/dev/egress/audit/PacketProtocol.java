package dev.egress.audit;

import java.util.Arrays;
import java.util.Optional;

/** The protocol of a refused packet, as far as the audit trail tells them apart. */
public enum PacketProtocol {
  TCP("tcp", true),
  UDP("udp", true),
  ICMP("icmp", false),
  ICMPV6("icmpv6", false);

  private final String wireName;
  private final boolean hasPorts;

  PacketProtocol(String wireName, boolean hasPorts) {
    this.wireName = wireName;
    this.hasPorts = hasPorts;
  }

  /** The name the audit file and the schema use: {@code tcp}, {@code udp}, {@code icmp}, ... */
  public String wireName() {
    return wireName;
  }

  /** Whether its packets carry ports (TCP, UDP) or not (ICMP, ICMPv6). */
  public boolean hasPorts() {
    return hasPorts;
  }

  /** The protocol of {@code wireName}, or empty when there is none of that name. */
  public static Optional<PacketProtocol> ofWireName(String wireName) {
    return Arrays.stream(values()).filter(p -> p.wireName.equals(wireName)).findFirst();
  }
}
