package dev.egress.nftables;

import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The kernel's routes as {@code /proc/net/route} (IPv4, main table) and {@code
 * /proc/net/ipv6_route} (IPv6) list them, read for one question: on which interface does an address
 * live, if the host reaches it directly? That is the interface a container's traffic, link-local
 * included, arrives on. An address whose best route goes through a gateway, or is a reject route,
 * lives on no link of this host. Nor does one on an interface that carries a default route: that is
 * the host's uplink, whose routers, DHCP servers and metadata service speak link-local to the host,
 * and a container there (macvlan, ipvlan) cannot reach the host through it anyway. Reading costs a
 * few file reads, no process.
 *
 * @param routes every usable route read, both families
 */
record Routes(List<Route> routes) {
  private static final int RTF_GATEWAY = 0x0002;
  private static final int RTF_REJECT = 0x0200;

  /**
   * One route.
   *
   * @param network the destination network
   * @param device the interface it leaves through
   * @param direct whether it reaches the network directly (no gateway, not a reject route)
   * @param metric its metric; the lowest wins between routes of the same prefix
   */
  record Route(
      BigInteger network,
      int prefixLength,
      boolean ipv6,
      String device,
      boolean direct,
      long metric) {
    boolean covers(BigInteger address, boolean addressIsIpv6) {
      int bits = ipv6 ? 128 : 32;
      return addressIsIpv6 == ipv6
          && address
              .shiftRight(bits - prefixLength)
              .equals(network.shiftRight(bits - prefixLength));
    }
  }

  Routes {
    routes = List.copyOf(routes);
  }

  /**
   * Reads {@code route} and {@code ipv6_route} in {@code procNet} ({@code /proc/net}, or {@code
   * /proc/PID/net} for the network namespace of process PID).
   *
   * @throws IOException if either cannot be read or parsed
   */
  static Routes read(Path procNet) throws IOException {
    List<Route> routes = new ArrayList<>();
    List<String> ipv4 = Files.readAllLines(procNet.resolve("route"));
    for (String line : ipv4.subList(Math.min(1, ipv4.size()), ipv4.size())) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 8) {
        continue;
      }
      try {
        int flags = Integer.parseInt(f[3], 16);
        int mask = networkOrder(f[7]);
        routes.add(
            new Route(
                unsigned(networkOrder(f[1])),
                Integer.bitCount(mask),
                false,
                f[0],
                (flags & (RTF_GATEWAY | RTF_REJECT)) == 0,
                Long.parseLong(f[6])));
      } catch (NumberFormatException e) {
        throw new IOException(
            "cannot parse a route in " + procNet.resolve("route") + ": " + line, e);
      }
    }
    Path ipv6Routes = procNet.resolve("ipv6_route");
    // A kernel booted with IPv6 disabled has no such file, and no IPv6 traffic at all.
    List<String> ipv6 = Files.exists(ipv6Routes) ? Files.readAllLines(ipv6Routes) : List.of();
    for (String line : ipv6) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 10) {
        continue;
      }
      try {
        int flags = Integer.parseUnsignedInt(f[8], 16);
        routes.add(
            new Route(
                new BigInteger(f[0], 16),
                Integer.parseInt(f[1], 16),
                true,
                f[9],
                (flags & (RTF_GATEWAY | RTF_REJECT)) == 0 && new BigInteger(f[4], 16).signum() == 0,
                Long.parseUnsignedLong(f[5], 16)));
      } catch (NumberFormatException e) {
        throw new IOException(
            "cannot parse a route in " + procNet.resolve("ipv6_route") + ": " + line, e);
      }
    }
    return new Routes(routes);
  }

  /** The interfaces where {@code addresses} live (see the class comment), without repeats. */
  Set<String> linksOf(Collection<InetAddress> addresses) {
    Set<String> links = new LinkedHashSet<>();
    for (InetAddress address : addresses) {
      linkOf(address).ifPresent(links::add);
    }
    return links;
  }

  /** The interface of the most specific route to {@code address}, if that route is direct. */
  Optional<String> linkOf(InetAddress address) {
    Objects.requireNonNull(address, "address");
    boolean ipv6 = IpAddresses.isIpv6(address);
    BigInteger value = new BigInteger(1, address.getAddress());
    Route best = null;
    for (Route route : routes) {
      if (route.covers(value, ipv6)
          && (best == null
              || route.prefixLength() > best.prefixLength()
              || (route.prefixLength() == best.prefixLength() && route.metric() < best.metric()))) {
        best = route;
      }
    }
    if (best == null || !best.direct()) {
      return Optional.empty();
    }
    String device = best.device();
    boolean uplink =
        routes.stream().anyMatch(r -> r.prefixLength() == 0 && r.device().equals(device));
    return uplink ? Optional.empty() : Optional.of(device);
  }

  /**
   * A {@code %08X} field of /proc/net/route, in network byte order: the kernel prints the address
   * it holds in network order as a number, so on a little-endian CPU its bytes come out reversed.
   */
  private static int networkOrder(String hex) {
    int raw = (int) Long.parseLong(hex, 16);
    return ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? Integer.reverseBytes(raw) : raw;
  }

  private static BigInteger unsigned(int networkOrder) {
    return new BigInteger(1, ByteBuffer.allocate(4).putInt(networkOrder).array());
  }
}
