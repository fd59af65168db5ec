package dev.egress.policy;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * What host names currently resolve to. A name that is absent, or that maps to no address,
 * contributes nothing to what a policy allows: a failed lookup never widens access.
 *
 * @param addresses each name's current addresses
 */
public record Resolutions(Map<HostName, Set<InetAddress>> addresses) {
  private static final Resolutions NONE = new Resolutions(Map.of());

  public Resolutions {
    Map<HostName, Set<InetAddress>> copy = new HashMap<>();
    addresses.forEach((name, set) -> copy.put(name, Set.copyOf(set)));
    addresses = Map.copyOf(copy);
  }

  /** No name resolves to anything. */
  public static Resolutions none() {
    return NONE;
  }

  /** The addresses {@code name} resolves to; empty when unknown. */
  public Set<InetAddress> addressesOf(HostName name) {
    return addresses.getOrDefault(name, Set.of());
  }

  /** A copy where {@code name} resolves to {@code newAddresses}. */
  public Resolutions with(HostName name, Set<InetAddress> newAddresses) {
    Map<HostName, Set<InetAddress>> copy = new HashMap<>(addresses);
    copy.put(name, newAddresses);
    return new Resolutions(copy);
  }
}
