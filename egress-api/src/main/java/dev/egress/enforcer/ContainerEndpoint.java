package dev.egress.enforcer;

import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * A container as the network sees it: an id, every source address it can send from (IPv4 and IPv6 —
 * an allowlist on one family leaks over the other), and its gateway when known.
 *
 * @param id the launcher's id for the container
 * @param addresses the container's addresses, at least one, unique, IPv4 first
 * @param gateway the container's gateway (the {@code gateway} destination and resolver), or null
 *     when unknown; a policy that uses the gateway cannot then be attached
 */
public record ContainerEndpoint(
    ContainerId id, List<InetAddress> addresses, @Nullable InetAddress gateway) {
  public ContainerEndpoint {
    Objects.requireNonNull(id, "id");
    if (addresses.isEmpty()) {
      throw new IllegalArgumentException("container " + id + " has no address");
    }
    List<InetAddress> sorted = new ArrayList<>(addresses);
    sorted.sort(Comparator.comparing(IpAddresses::isIpv6));
    for (InetAddress address : sorted) {
      if (address.isAnyLocalAddress()
          || address.isMulticastAddress()
          || address.isLoopbackAddress()) {
        throw new IllegalArgumentException(
            "container "
                + id
                + " cannot have the address "
                + IpAddresses.format(address)
                + " (unspecified, loopback or multicast)");
      }
    }
    if (sorted.stream().distinct().count() != sorted.size()) {
      throw new IllegalArgumentException("container " + id + " lists an address twice: " + sorted);
    }
    addresses = List.copyOf(sorted);
  }

  /**
   * A container known only by its address: its id is {@link ContainerId#forAddress}, its gateway
   * unknown.
   */
  public static ContainerEndpoint of(InetAddress address) {
    return new ContainerEndpoint(ContainerId.forAddress(address), List.of(address), null);
  }

  @Override
  public String toString() {
    return id
        + " "
        + addresses.stream().map(IpAddresses::format).collect(Collectors.joining(","))
        + (gateway == null ? "" : " via " + IpAddresses.format(gateway));
  }
}
