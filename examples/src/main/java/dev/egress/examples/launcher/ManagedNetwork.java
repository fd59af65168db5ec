package dev.egress.examples.launcher;

import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.util.regex.Pattern;

/**
 * A network of its own for managed containers, created with {@code container network create NAME
 * --subnet SUBNET} (macOS 26 and later). Configure the enforcer's guard for the same subnet: the
 * guard blocks everything from the subnet that no attachment allows, so a container that has
 * started but is not attached yet reaches nothing, and only managed containers use the subnet.
 *
 * @param name the network's name
 * @param subnet its IPv4 subnet, say {@code 10.213.0.0/24}
 */
public record ManagedNetwork(String name, IpNetwork subnet) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");

  public ManagedNetwork {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("network name '" + name + "' must be 1-63 lower-case"
          + " letters, digits, '-', '_' or '.', starting with a letter or digit");
    }
    if (subnet.isIpv6() || subnet.prefixLength() > 30 || subnet.prefixLength() < 8) {
      throw new IllegalArgumentException(
          "managed subnet " + subnet + " must be an IPv4 network from /8 to /30");
    }
  }

  /** Whether an address the runtime assigned lies in the managed subnet (and so under the guard). */
  boolean covers(InetAddress address) {
    return subnet.contains(address);
  }

  @Override
  public String toString() {
    return name + " " + subnet;
  }
}
