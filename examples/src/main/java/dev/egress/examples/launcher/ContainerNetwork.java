package dev.egress.examples.launcher;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A network of its own for managed containers, created with {@code container network create NAME
 * --subnet SUBNET [--subnet-v6 PREFIX]} (macOS 26 and later). Configure the enforcer's guard for
 * the same subnets: the guard blocks everything from them that no attachment allows, so a container
 * that has started but is not attached yet reaches nothing, and only managed containers use the
 * subnets. Give the IPv6 prefix too: without it the runtime picks one that the guard cannot name,
 * so a container's IPv6 address would be unguarded until attach, and the launcher refuses every
 * container that reports an IPv6 address (it is stopped before it gets work).
 *
 * @param name the network's name
 * @param subnet its IPv4 subnet, say {@code 10.213.0.0/24}
 * @param ipv6Subnet its IPv6 prefix, say {@code fd00:10:213::/64}, or null to let the runtime pick
 */
public record ContainerNetwork(String name, IpNetwork subnet, @Nullable IpNetwork ipv6Subnet) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");

  public ContainerNetwork {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "network name '"
              + name
              + "' must be 1-63 lower-case"
              + " letters, digits, '-', '_' or '.', starting with a letter or digit");
    }
    if (subnet.isIpv6() || subnet.prefixLength() > 30 || subnet.prefixLength() < 8) {
      throw new IllegalArgumentException(
          "managed subnet " + subnet + " must be an IPv4 network from /8 to /30");
    }
    if (ipv6Subnet != null && (!ipv6Subnet.isIpv6() || ipv6Subnet.prefixLength() > 120)) {
      throw new IllegalArgumentException(
          "managed IPv6 prefix " + ipv6Subnet + " must be an IPv6 network of /120 or shorter");
    }
  }

  /** A network with an IPv4 subnet; the runtime picks its IPv6 prefix. */
  public ContainerNetwork(String name, IpNetwork subnet) {
    this(name, subnet, null);
  }

  /**
   * Whether an address the runtime assigned lies in the managed subnets (and so under the guard).
   * Without an IPv6 prefix no IPv6 address is covered: the guard cannot name what it was not given.
   */
  boolean covers(InetAddress address) {
    if (!IpAddresses.isIpv6(address)) {
      return subnet.contains(address);
    }
    return ipv6Subnet != null && ipv6Subnet.contains(address);
  }

  @Override
  public String toString() {
    return name + " " + subnet + (ipv6Subnet == null ? "" : " " + ipv6Subnet);
  }
}
