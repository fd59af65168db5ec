package dev.egress.plan;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.net.InetAddress;

/** An address family. Rules name theirs: a packet of one family never matches the other's. */
public enum Family {
  IPV4,
  IPV6;

  public static Family of(InetAddress address) {
    return IpAddresses.isIpv6(address) ? IPV6 : IPV4;
  }

  public static Family of(IpNetwork network) {
    return network.isIpv6() ? IPV6 : IPV4;
  }
}
