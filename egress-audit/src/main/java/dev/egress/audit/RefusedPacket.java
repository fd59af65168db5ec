package dev.egress.audit;

import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One packet the filter refused, as its log shows it, before anyone asked whose it was.
 *
 * @param time when the filter logged it
 * @param source its source address
 * @param destination its destination address, of the same family
 * @param protocol TCP, UDP, ICMP (IPv4 only) or ICMPv6 (IPv6 only)
 * @param destinationPort 1..65535 for TCP and UDP, null for ICMP and ICMPv6
 */
public record RefusedPacket(
    Instant time,
    InetAddress source,
    InetAddress destination,
    PacketProtocol protocol,
    @Nullable Integer destinationPort) {
  public RefusedPacket {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(protocol, "protocol");
    boolean ipv6 = IpAddresses.isIpv6(source);
    if (ipv6 != IpAddresses.isIpv6(destination)) {
      throw new IllegalArgumentException(
          "source "
              + IpAddresses.format(source)
              + " and destination "
              + IpAddresses.format(destination)
              + " are of different families");
    }
    if ((protocol == PacketProtocol.ICMP && ipv6) || (protocol == PacketProtocol.ICMPV6 && !ipv6)) {
      throw new IllegalArgumentException(protocol.wireName() + " with the wrong address family");
    }
    if (protocol.hasPorts()) {
      if (destinationPort == null || destinationPort < 1 || destinationPort > 65535) {
        throw new IllegalArgumentException(
            protocol.wireName() + " needs a destination port in 1..65535, not " + destinationPort);
      }
    } else if (destinationPort != null) {
      throw new IllegalArgumentException(protocol.wireName() + " has no ports");
    }
  }

  /** Whether this is DNS: TCP or UDP to port 53. */
  public boolean isDns() {
    return destinationPort != null && destinationPort == 53;
  }
}
