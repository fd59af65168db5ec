package dev.egress.pf.render;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * What privileged loads may name, fixed when the sudo wrapper is generated: the source address of
 * every container rule and every subnet of the guard must lie inside one of {@link #networks}, and
 * the guard may block only the interfaces in {@link #bridges}. So the user that sudoers names can
 * write rules for managed containers' traffic and for nothing else the host sees. A container's
 * port-53 redirect ({@code rdr}, for a {@code dns filter} policy) may go to {@link #dnsFilter} and
 * nowhere else: a redirect to another address would hand the container's DNS to whoever answers
 * there.
 *
 * @param networks the networks managed containers' addresses come from, both families as needed; at
 *     least one, none a /0; sorted, without duplicates
 * @param bridges the interfaces a guard may block whole, such as {@code bridge100}; possibly empty;
 *     sorted, without duplicates
 * @param dnsFilter the only address a redirect may name, the host's DNS filter; null: no redirect
 *     passes
 */
public record LoadScope(
    List<IpNetwork> networks, List<String> bridges, @Nullable InetAddress dnsFilter) {
  private static final Pattern PREFIX = Pattern.compile("0|[1-9][0-9]{0,2}");

  /**
   * @throws IllegalArgumentException if there is no network, a network is a /0, or a bridge is not
   *     an interface name pf could have
   */
  public LoadScope {
    Objects.requireNonNull(networks, "networks");
    if (networks.isEmpty()) {
      throw new IllegalArgumentException(
          "name at least one network that managed containers' addresses come from");
    }
    for (IpNetwork network : networks) {
      if (network.prefixLength() == 0) {
        throw new IllegalArgumentException(
            network + " is every address of its family, not a network of containers");
      }
    }
    networks = List.copyOf(new TreeSet<>(networks));
    for (String bridge : bridges) {
      ManagedNetwork.requireInterfaceName(bridge);
    }
    bridges = List.copyOf(new TreeSet<>(bridges));
  }

  /** A scope without a DNS filter: no load may redirect. */
  public LoadScope(List<IpNetwork> networks, List<String> bridges) {
    this(networks, bridges, null);
  }

  /**
   * Whether {@code token} is {@link #dnsFilter} as the renderer writes it ({@link
   * IpAddresses#format}); never without a filter. Compared as text, as the wrapper compares it.
   */
  public boolean isDnsFilter(String token) {
    return dnsFilter != null && token.equals(IpAddresses.format(dnsFilter));
  }

  /**
   * Whether {@code token}, an address ({@code 192.168.64.3}) or a network ({@code fd00:64::/64}) as
   * a load writes it, lies wholly inside one of {@link #networks}. Anything else (a name, a
   * malformed literal, a prefix out of range) does not.
   */
  public boolean holds(String token) {
    int slash = token.indexOf('/');
    InetAddress address;
    try {
      address = IpAddresses.parse(slash < 0 ? token : token.substring(0, slash));
    } catch (IllegalArgumentException e) {
      return false;
    }
    int bits = address.getAddress().length * 8;
    int prefix = bits;
    if (slash >= 0) {
      String text = token.substring(slash + 1);
      if (!PREFIX.matcher(text).matches() || Integer.parseInt(text) > bits) {
        return false;
      }
      prefix = Integer.parseInt(text);
    }
    for (IpNetwork network : networks) {
      if (prefix >= network.prefixLength() && network.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code token} is an IPv6 /64 ({@code fd00:64::/64}) on the link of a managed network:
   * it holds one of {@link #networks}, or lies inside one. The first 64 bits of its address agree
   * with the network's first {@code min(64, prefix)}; the rest of its address is not looked at.
   */
  public boolean holdsOnLink(String token) {
    if (!token.endsWith("/64")) {
      return false;
    }
    InetAddress address;
    try {
      address = IpAddresses.parse(token.substring(0, token.length() - 3));
    } catch (IllegalArgumentException e) {
      return false;
    }
    if (address.getAddress().length != 16) {
      return false;
    }
    for (IpNetwork network : networks) {
      int bits = Math.min(64, network.prefixLength());
      if (network.isIpv6()
          && IpNetwork.containing(network.address(), bits)
              .equals(IpNetwork.containing(address, bits))) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code name} is one of {@link #bridges}. */
  public boolean isBridge(String name) {
    return bridges.contains(name);
  }

  @Override
  public String toString() {
    return "networks "
        + networks
        + (bridges.isEmpty() ? ", no bridge" : ", bridges " + bridges)
        + (dnsFilter == null ? ", no DNS filter" : ", DNS filter " + IpAddresses.format(dnsFilter));
  }
}
