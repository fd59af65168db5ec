package dev.egress.pf.render;

import static dev.egress.pf.render.Fixtures.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpNetwork;
import dev.egress.testkit.pf.FakePfctl;
import dev.egress.testkit.pf.PfDecision;
import dev.egress.testkit.pf.PfEvaluator;
import dev.egress.testkit.pf.PfPacket;
import dev.egress.testkit.pf.PfPacket.Direction;
import dev.egress.testkit.pf.PfPacket.IpProtocol;
import dev.egress.testkit.pf.PfVerdict;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The rendered text of typical policies, byte for byte, and hand-computed verdicts over those
 * files. Each golden file is a complete ruleset for {@code pfctl -a ANCHOR -f FILE}.
 *
 * <p>After an intended rendering change, regenerate the files and review the diff:
 *
 * <pre>
 * ./mvnw -q -o -pl egress-pf -am test -Dtest=PfGoldenTest -Dsurefire.failIfNoSpecifiedTests=false -Degress.golden.update=true
 * git diff egress-pf/src/test/resources/golden
 * </pre>
 */
class PfGoldenTest {
  private static final boolean UPDATE = Boolean.getBoolean("egress.golden.update");
  private static final Path SOURCE_DIR = Path.of("src", "test", "resources", "golden");

  static ParentAnchor guardedParent() {
    return ParentAnchor.defaults()
        .guarding(
            ManagedNetwork.of(IpNetwork.parse("192.168.64.0/24"), IpNetwork.parse("fd00:64::/64"))
                .onBridge("bridge100"),
            true);
  }

  private static Map<String, String> rendered() throws Exception {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("nanoclaw-default.pf", Fixtures.nanoClaw().render().text());
    files.put("many-names-and-ports.pf", Fixtures.manyNamesAndPorts().render().text());
    files.put("ipv6-only.pf", Fixtures.ipv6Only().render().text());
    files.put("deny-all.pf", Fixtures.denyAll().render().text());
    files.put("dns-filter.pf", Fixtures.filtered().render().text());
    files.put("parent.pf", PfRenderer.renderParent(ParentAnchor.defaults()));
    files.put("parent-guarded.pf", PfRenderer.renderParent(guardedParent()));
    files.put("anchor-names.txt", Fixtures.anchorNames());
    return files;
  }

  @Test
  void renderedText_equalsTheGoldenFilesByteForByte() throws Exception {
    for (Map.Entry<String, String> file : rendered().entrySet()) {
      if (UPDATE) {
        Files.createDirectories(SOURCE_DIR);
        Files.writeString(
            SOURCE_DIR.resolve(file.getKey()), file.getValue(), StandardCharsets.UTF_8);
      } else {
        assertEquals(
            golden(file.getKey()),
            file.getValue(),
            file.getKey()
                + " differs; if the change is intended, regenerate (see PfGoldenTest's javadoc)");
      }
    }
  }

  @Test
  void rendering_twiceFromFreshInputs_givesIdenticalBytes() throws Exception {
    Map<String, String> first = rendered();
    Map<String, String> second = rendered();
    assertEquals(first, second);
    for (Child rules :
        new Child[] {Fixtures.nanoClaw(), Fixtures.manyNamesAndPorts(), Fixtures.ipv6Only()}) {
      ChildRuleset a = rules.render();
      ChildRuleset b = rules.render();
      assertEquals(a, b);
    }
  }

  @Test
  void goldenAnchorNames_areAllPathsPfctlLoads() throws IOException {
    FakePfctl pfctl = new FakePfctl();
    List<String> lines = golden("anchor-names.txt").lines().toList();
    assertEquals(Fixtures.NAMING_PARENTS.size() * Fixtures.NAMED_IDS.size(), lines.size());
    for (String line : lines) {
      String path = line.substring(0, line.indexOf("  <- "));
      assertTrue(path.length() <= 63, line);
      FakePfctl.Result load =
          pfctl.execute(List.of("pfctl", "-a", path, "-f", "-"), "block in quick all\n");
      assertEquals(0, load.exitCode(), line + ": " + load.stderr());
    }
    assertTrue(lines.stream().anyMatch(l -> l.indexOf("  <- ") == 63), "the longest paths fit");
  }

  /** Every golden child side by side under the guarded parent, all read from the files. */
  private static PfEvaluator goldenPf(String parentFile) throws IOException {
    return PfEvaluator.of(
        golden(parentFile),
        Map.of(
            Fixtures.nanoClaw().name().value(), golden("nanoclaw-default.pf"),
            Fixtures.manyNamesAndPorts().name().value(), golden("many-names-and-ports.pf"),
            Fixtures.ipv6Only().name().value(), golden("ipv6-only.pf"),
            Fixtures.denyAll().name().value(), golden("deny-all.pf"),
            Fixtures.filtered().name().value(), golden("dns-filter.pf")));
  }

  @ParameterizedTest(name = "{0} {1} {2} -> {3} port {4}: {5} ({6})")
  @CsvSource({
    // NanoClaw default: Anthropic by name (160.79.104.10, 2607:6bc0::10) and by network, proxy, DNS
    // via gateway
    "bridge100, tcp, 192.168.64.3, 160.79.104.10, 443, PASS, api.anthropic.com",
    "bridge100, tcp, 192.168.64.3, 160.79.105.255, 443, PASS, last address of 160.79.104.0/23",
    "bridge100, tcp, 192.168.64.3, 160.79.106.0, 443, BLOCK, just past the network",
    "bridge100, tcp, 192.168.64.3, 160.79.104.10, 80, BLOCK, allowed host on another port",
    "bridge100, udp, 192.168.64.3, 160.79.104.10, 443, BLOCK, allowed host over udp",
    "bridge100, tcp, 192.168.64.3, 192.168.64.1, 3001, PASS, credential proxy on the gateway",
    "bridge100, tcp, 192.168.64.3, 192.168.64.1, 3002, BLOCK, next port on the gateway",
    "bridge100, udp, 192.168.64.3, 192.168.64.1, 53, PASS, DNS to the gateway",
    "bridge100, tcp, 192.168.64.3, 192.168.64.1, 53, PASS, DNS over tcp to the gateway",
    "bridge100, udp, 192.168.64.3, 8.8.8.8, 53, BLOCK, DNS elsewhere",
    "bridge100, icmp, 192.168.64.3, 8.8.8.8, 0, BLOCK, ping",
    "bridge100, tcp, fd00:64::3, 2607:6bc0::10, 443, PASS, api.anthropic.com over IPv6",
    "bridge100, tcp, fd00:64::3, 2607:6bc0::11, 443, BLOCK, unlisted IPv6 address",
    "bridge100, udp, fd00:64::3, fd00:64::1, 53, BLOCK, the IPv4 gateway is the resolver",
    "bridge100, icmp6, fd00:64::3, fd00:64::1, 0, BLOCK, ICMPv6",
    // many names and ports
    "bridge100, tcp, 192.168.64.7, 140.82.112.3, 22, PASS, github.com ssh",
    "bridge100, tcp, 192.168.64.7, 140.82.112.4, 443, PASS, github.com https",
    "bridge100, tcp, 192.168.64.7, 151.101.0.223, 22, BLOCK, pypi.org is https only",
    "bridge100, tcp, 192.168.64.7, 10.1.2.4, 5433, PASS, database range upper edge",
    "bridge100, tcp, 192.168.64.7, 10.1.2.4, 5434, BLOCK, past the range",
    "bridge100, tcp, 192.168.64.7, 10.1.2.5, 5432, BLOCK, neighbour of the database",
    "bridge100, udp, 192.168.64.7, 10.9.255.255, 1024, PASS, udp range edge in 10.9.0.0/16",
    "bridge100, udp, 192.168.64.7, 10.9.0.1, 1025, BLOCK, past the udp range",
    "bridge100, udp, 192.168.64.7, 10.9.0.1, 53, BLOCK, udp range spans 53 but DNS is not allowed there",
    "bridge100, tcp, 192.168.64.7, 10.9.0.1, 80, BLOCK, the range is udp only",
    "bridge100, udp, 192.168.64.7, 9.9.9.9, 53, PASS, listed resolver",
    "bridge100, tcp, 192.168.64.7, 192.168.64.1, 53, PASS, listed resolver over tcp",
    "bridge100, udp, 192.168.64.7, 1.1.1.1, 53, BLOCK, unlisted resolver",
    "bridge100, udp, 192.168.64.7, 129.6.15.28, 123, BLOCK, time.example.org resolves to nothing",
    // IPv6 only, ULA and link-local sources
    "bridge100, tcp, fe80::9, 2607:6bc0:0:1234::1, 443, PASS, 2607:6bc0::/48 from link-local",
    "bridge100, udp, fd00:64::9, 2001:4860:4860::8888, 53, PASS, IPv6 resolver",
    "bridge100, tcp, fd00:64::9, fd00:64::1, 3001, PASS, IPv6 gateway proxy",
    "bridge100, tcp, fd00:64::9, fd00:64::1, 22, BLOCK, other gateway port",
    // deny-all
    "bridge100, tcp, 192.168.64.5, 160.79.104.10, 443, BLOCK, deny-all",
    "bridge100, udp, 192.168.64.5, 192.168.64.1, 53, BLOCK, deny-all has no DNS",
    "bridge100, tcp, fd00:64::5, 2607:6bc0::10, 443, BLOCK, deny-all over IPv6",
    // dns filter: DNS anywhere is redirected to the filter; the wildcard's table holds its grant
    "bridge100, udp, 192.168.64.4, 8.8.8.8, 53, PASS, DNS elsewhere lands on the filter",
    "bridge100, tcp, 192.168.64.4, 1.1.1.1, 53, PASS, DNS over tcp elsewhere lands on the filter",
    "bridge100, udp, 192.168.64.4, 192.168.64.1, 53, PASS, DNS to the filter itself",
    "bridge100, udp, 192.168.64.4, 8.8.8.8, 5353, BLOCK, not port 53: not redirected",
    "bridge100, udp, fd00:64::4, 2001:4860:4860::8888, 53, BLOCK, no IPv6 filter: IPv6 DNS refused",
    "bridge100, tcp, 192.168.64.4, 185.199.108.133, 443, PASS, granted under the wildcard",
    "bridge100, tcp, 192.168.64.4, 185.199.108.134, 443, BLOCK, not granted",
    "bridge100, tcp, 192.168.64.4, 185.199.108.133, 80, BLOCK, granted address on another port",
    "bridge100, tcp, fd00:64::4, 2607:6bc0::10, 443, PASS, exact name over IPv6",
    "bridge100, tcp, 192.168.64.4, 160.79.105.1, 443, PASS, the network",
    "bridge100, tcp, 192.168.64.4, 192.168.64.1, 3001, PASS, the gateway's proxy",
    // the guard
    "bridge100, tcp, 192.168.64.99, 1.1.1.1, 443, BLOCK, unattached container",
    "bridge100, udp, fd00:64::99, fd00:64::1, 53, BLOCK, unattached container over IPv6",
    "lo0, tcp, 192.168.64.1, 192.168.64.1, 3001, PASS, host to its own gateway address",
    "bridge100, tcp, fe80::99, fe80::1, 22, BLOCK, forged or link-local source on the bridge",
    "en0, tcp, fe80::99, fe80::1, 22, PASS, other interfaces are not guarded",
    "en0, tcp, 172.16.0.9, 1.1.1.1, 443, PASS, traffic that is not the containers'",
  })
  void goldenFilesUnderTheGuard_decideAsComputedByHand(
      String interfaceName,
      String protocol,
      String source,
      String destination,
      int port,
      PfVerdict expected,
      String why)
      throws IOException {
    PfPacket packet =
        PfPacket.in(
            interfaceName,
            IpProtocol.valueOf(protocol.toUpperCase(java.util.Locale.ROOT)),
            ip(source),
            ip(destination),
            port);
    PfDecision decision = goldenPf("parent-guarded.pf").evaluate(packet);
    assertEquals(expected, decision.verdict(), why + ": " + decision);
  }

  @Test
  void goldenParentWithoutGuard_passesUnattachedContainers_butStillFiltersAttachedOnes()
      throws IOException {
    PfEvaluator pf = goldenPf("parent.pf");
    assertEquals(
        PfVerdict.PASS,
        pf.verdict(
            PfPacket.in("bridge100", IpProtocol.TCP, ip("192.168.64.99"), ip("1.1.1.1"), 443)));
    assertEquals(
        PfVerdict.BLOCK,
        pf.verdict(
            PfPacket.in("bridge100", IpProtocol.TCP, ip("192.168.64.3"), ip("1.1.1.1"), 443)));
  }

  @Test
  void goldenFiles_outboundPacketsAreNotFiltered() throws IOException {
    PfPacket reply =
        new PfPacket(
            Direction.OUT,
            "bridge100",
            IpProtocol.TCP,
            ip("192.168.64.1"),
            ip("192.168.64.3"),
            50000);
    assertEquals(PfVerdict.PASS, goldenPf("parent-guarded.pf").verdict(reply));
  }

  @Test
  void goldenNanoClaw_afterReplacingItsTable_followsTheNewAddresses() throws IOException {
    PfEvaluator pf =
        goldenPf("parent-guarded.pf")
            .withTableReplaced(
                Fixtures.nanoClaw().name().value(), "tcp_443", "160.79.104.0/23\n2607:6bc0::20\n");
    assertEquals(
        PfVerdict.BLOCK,
        pf.verdict(
            PfPacket.in("bridge100", IpProtocol.TCP, ip("fd00:64::3"), ip("2607:6bc0::10"), 443)));
    assertEquals(
        PfVerdict.PASS,
        pf.verdict(
            PfPacket.in("bridge100", IpProtocol.TCP, ip("fd00:64::3"), ip("2607:6bc0::20"), 443)));
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource({
    "udp, 8.8.8.8, 53",
    "tcp, 1.1.1.1, 53",
    "udp, 192.168.64.1, 53",
    "tcp, 10.0.0.53, 53",
  })
  void goldenDnsFilter_redirectsPort53ToTheFilter_andThatPasses(
      String protocol, String destination, int port) throws IOException {
    PfEvaluator pf = goldenPf("parent-guarded.pf");
    PfPacket packet =
        PfPacket.in(
            "bridge100",
            IpProtocol.valueOf(protocol.toUpperCase(java.util.Locale.ROOT)),
            ip("192.168.64.4"),
            ip(destination),
            port);

    PfPacket seen = pf.translate(packet);

    assertEquals(ip("192.168.64.1"), seen.destination());
    assertEquals(53, seen.destinationPort());
    PfDecision decision = pf.evaluate(packet);
    assertEquals(PfVerdict.PASS, decision.verdict());
    assertTrue(decision.rule().contains("to 192.168.64.1 port = 53"), decision.toString());
  }

  @Test
  void goldenParentWithoutRdrAnchor_redirectsNothing_andDnsElsewhereIsRefused() throws IOException {
    String parent = golden("parent-guarded.pf").replace("rdr-anchor \"*\"\n", "");
    PfEvaluator pf =
        PfEvaluator.of(parent, Map.of(Fixtures.filtered().name().value(), golden("dns-filter.pf")));
    PfPacket packet =
        PfPacket.in("bridge100", IpProtocol.UDP, ip("192.168.64.4"), ip("8.8.8.8"), 53);

    assertEquals(packet, pf.translate(packet));
    assertEquals(PfVerdict.BLOCK, pf.verdict(packet));
  }

  @Test
  void goldenDnsFilter_otherContainersAreNotRedirected() throws IOException {
    PfPacket packet =
        PfPacket.in("bridge100", IpProtocol.UDP, ip("192.168.64.3"), ip("8.8.8.8"), 53);

    assertEquals(packet, goldenPf("parent-guarded.pf").translate(packet));
  }

  private static String golden(String file) throws IOException {
    if (UPDATE) {
      return Files.readString(SOURCE_DIR.resolve(file), StandardCharsets.UTF_8);
    }
    try (InputStream in = PfGoldenTest.class.getResourceAsStream("/golden/" + file)) {
      assertNotNull(
          in, "missing golden file " + file + "; generate it (see PfGoldenTest's javadoc)");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
