package dev.egress.pf.render;

import dev.egress.policy.IpNetwork;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A container network that only managed containers use (for example one made with {@code container
 * network create egress --subnet 192.168.70.0/24}). The parent anchor's guard blocks whatever
 * arrives from it that no container's anchor passed: containers started but not yet attached,
 * containers whose rules are gone, and (when the bridge is named) guests that forged their source
 * address.
 *
 * @param subnets the network's IPv4 and IPv6 subnets, at least one; sorted, without duplicates
 * @param bridgeInterface the host bridge the network uses ({@code bridge101}), or null when not
 *     known. Naming it blocks everything arriving on it that no container anchor passed, whatever
 *     its source address (DHCP from 0.0.0.0 included): name it only for networks whose guests do
 *     not need DHCP through pf. A bridge that does not exist yet is harmless: pf loads the rule and
 *     it matches once the bridge appears.
 */
public record ManagedNetwork(List<IpNetwork> subnets, @Nullable String bridgeInterface) {
  /**
   * pf interface names: letters then a unit number (at most IFNAMSIZ - 1 = 15 characters, which
   * {@link #requireInterfaceName} checks besides), in the common subset of Java and POSIX extended
   * regular expressions.
   */
  static final String INTERFACE_PATTERN = "[a-z]{1,14}[0-9]{1,5}";

  private static final Pattern INTERFACE = Pattern.compile(INTERFACE_PATTERN);

  /**
   * @throws IllegalArgumentException if there is no subnet, a subnet is a /0 (that is every
   *     address, not a network of containers), or the interface name is not one pf could have
   */
  public ManagedNetwork {
    Objects.requireNonNull(subnets, "subnets");
    if (subnets.isEmpty()) {
      throw new IllegalArgumentException("a managed network needs at least one subnet");
    }
    for (IpNetwork subnet : subnets) {
      if (subnet.prefixLength() == 0) {
        throw new IllegalArgumentException(
            subnet + " is every address of its family, not a container network");
      }
    }
    subnets = List.copyOf(new TreeSet<>(subnets));
    if (bridgeInterface != null) {
      requireInterfaceName(bridgeInterface);
    }
  }

  /**
   * @throws IllegalArgumentException if {@code name} is not an interface name pf could have
   */
  static void requireInterfaceName(String name) {
    if (name.length() > 15 || !INTERFACE.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "'"
              + name.chars()
                  .limit(40)
                  .mapToObj(c -> c > 0x20 && c < 0x7f ? Character.toString(c) : "?")
                  .reduce("", String::concat)
              + "' is not an interface name: expected letters then a unit number, such as"
              + " bridge100");
    }
  }

  /** A network known by its subnets only. */
  public static ManagedNetwork of(IpNetwork... subnets) {
    return new ManagedNetwork(List.of(subnets), null);
  }

  /** The same network, guarded on {@code bridge} as well. */
  public ManagedNetwork onBridge(String bridge) {
    return new ManagedNetwork(subnets, bridge);
  }
}
