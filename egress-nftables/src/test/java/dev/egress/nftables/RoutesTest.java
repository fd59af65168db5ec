package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which interface an address lives on, from route tables as the kernel prints them. */
class RoutesTest {
  @TempDir Path procNet;

  /** An IPv4 address or mask as /proc/net/route prints it on this machine. */
  static String hex(String dotted) {
    byte[] bytes = IpAddresses.parse(dotted).getAddress();
    if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      bytes = new byte[] {bytes[3], bytes[2], bytes[1], bytes[0]};
    }
    return String.format("%02X%02X%02X%02X", bytes[0], bytes[1], bytes[2], bytes[3]);
  }

  /** One line of /proc/net/route. */
  static String route4(
      String device, String network, String gateway, String flags, int metric, String mask) {
    return String.join(
            "\t",
            device,
            hex(network),
            hex(gateway),
            flags,
            "0",
            "0",
            Integer.toString(metric),
            hex(mask),
            "0",
            "0",
            "0")
        + "\n";
  }

  /** Writes the two route files into {@code procNet}. */
  static void write(Path procNet, String ipv4Routes, String ipv6Routes) throws IOException {
    Files.writeString(
        procNet.resolve("route"),
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            + ipv4Routes);
    Files.writeString(procNet.resolve("ipv6_route"), ipv6Routes);
  }

  private static final String ZERO = "00000000000000000000000000000000";

  /** A Docker-like host: uplink eth0 with a default route, a bridge br0 for containers. */
  private void dockerLikeHost() throws IOException {
    write(
        procNet,
        route4("eth0", "0.0.0.0", "192.168.1.1", "0003", 100, "0.0.0.0")
            + route4("eth0", "192.168.1.0", "0.0.0.0", "0001", 100, "255.255.255.0")
            + route4("br0", "172.17.0.0", "0.0.0.0", "0001", 0, "255.255.0.0")
            + route4("br0", "172.17.5.0", "172.17.0.9", "0003", 0, "255.255.255.0")
            + route4("lo", "10.9.0.0", "0.0.0.0", "0201", 0, "255.255.0.0"),
        "fd000017000000000000000000000000 40 "
            + ZERO
            + " 00 "
            + ZERO
            + " 00000100 00000001 00000000 00000001     br0\n"
            + "fe800000000000000000000000000000 40 "
            + ZERO
            + " 00 "
            + ZERO
            + " 00000100 00000001 00000000 00000001     br0\n"
            + ZERO
            + " 00 "
            + ZERO
            + " 00 fe800000000000000000000000000001"
            + " 00000400 00000001 00000000 00000003    eth0\n"
            + ZERO
            + " 00 "
            + ZERO
            + " 00 "
            + ZERO
            + " ffffffff 00000001 00000000 00200200      lo\n");
  }

  @Test
  void anAddressOnADirectlyRoutedNetwork_livesOnItsInterface() throws Exception {
    dockerLikeHost();
    Routes routes = Routes.read(procNet);

    assertEquals(Optional.of("br0"), routes.linkOf(IpAddresses.parse("172.17.0.2")));
    assertEquals(Optional.of("br0"), routes.linkOf(IpAddresses.parse("fd00:17::2")));
    assertEquals(
        Set.of("br0"),
        routes.linksOf(List.of(IpAddresses.parse("172.17.0.2"), IpAddresses.parse("fd00:17::2"))));
  }

  @Test
  void anAddressBehindAGatewayOrOnARejectRoute_livesOnNoLinkOfTheHost() throws Exception {
    dockerLikeHost();
    Routes routes = Routes.read(procNet);

    assertEquals(Optional.empty(), routes.linkOf(IpAddresses.parse("8.8.8.8")), "default route");
    assertEquals(Optional.empty(), routes.linkOf(IpAddresses.parse("2001:db8::1")));
    assertEquals(
        Optional.empty(),
        routes.linkOf(IpAddresses.parse("172.17.5.3")),
        "the more specific route, through a gateway, wins over the bridge's");
    assertEquals(Optional.empty(), routes.linkOf(IpAddresses.parse("10.9.0.1")), "reject route");
  }

  @Test
  void anAddressOnTheUplink_livesOnNoContainerLink_theHostsOwnLinkLocalTrafficIsThere()
      throws Exception {
    dockerLikeHost();
    // A macvlan container in the LAN: its address is routed directly through eth0, which also
    // carries the default route.
    assertEquals(Optional.empty(), Routes.read(procNet).linkOf(IpAddresses.parse("192.168.1.20")));
  }

  @Test
  void withoutIpv6Routes_aKernelWithIpv6Disabled_theIpv4RoutesAreStillRead() throws Exception {
    write(procNet, route4("br0", "172.17.0.0", "0.0.0.0", "0001", 0, "255.255.0.0"), "");
    Files.delete(procNet.resolve("ipv6_route"));

    Routes routes = Routes.read(procNet);

    assertEquals(Optional.of("br0"), routes.linkOf(IpAddresses.parse("172.17.0.2")));
    assertEquals(Optional.empty(), routes.linkOf(IpAddresses.parse("fd00:17::2")));
  }

  @Test
  void betweenRoutesOfTheSamePrefix_theLowestMetricWins() throws Exception {
    write(
        procNet,
        route4("br1", "10.0.0.0", "0.0.0.0", "0001", 20, "255.0.0.0")
            + route4("br0", "10.0.0.0", "0.0.0.0", "0001", 10, "255.0.0.0"),
        "");
    assertEquals(Optional.of("br0"), Routes.read(procNet).linkOf(IpAddresses.parse("10.1.2.3")));
  }

  @Test
  void routeFilesThatAreMissingOrGarbled_areAnError() throws Exception {
    assertThrows(IOException.class, () -> Routes.read(procNet));
    write(procNet, "eth0\tnot-hex\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n", "");
    assertThrows(IOException.class, () -> Routes.read(procNet));
  }

  @Test
  void thisMachinesOwnRoutes_areRead() throws Exception {
    Routes.read(Path.of("/proc/net"));
  }
}
