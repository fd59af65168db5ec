package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class EgressPolicyTest {
  private static final InetAddress GATEWAY = ip("192.168.64.1");
  private static final HostName API = HostName.of("api.example.com");

  private static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  private static Allowance tcp(String destination, int first, int last) {
    return new Allowance(Destination.parse(destination), Protocol.TCP, new PortRange(first, last));
  }

  private static EgressPolicy policyOf(Allowance... allowances) {
    return new EgressPolicy(List.of(allowances), DnsRule.none(), false);
  }

  @Nested
  class Normalisation {
    @Test
    void overlappingRanges_ofOneDestinationAndProtocol_merge() {
      assertEquals(
          List.of(tcp("10.0.0.1", 1, 20)),
          policyOf(tcp("10.0.0.1", 5, 20), tcp("10.0.0.1", 1, 10)).allowances());
    }

    @Test
    void adjacentRanges_merge() {
      assertEquals(
          List.of(tcp("10.0.0.1", 1, 20)),
          policyOf(tcp("10.0.0.1", 1, 10), tcp("10.0.0.1", 11, 20)).allowances());
    }

    @Test
    void rangesWithAGap_stayApart() {
      assertEquals(
          List.of(tcp("10.0.0.1", 1, 10), tcp("10.0.0.1", 12, 20)),
          policyOf(tcp("10.0.0.1", 12, 20), tcp("10.0.0.1", 1, 10)).allowances());
    }

    @Test
    void aRangeInsideAnother_disappearsIntoIt() {
      assertEquals(
          List.of(tcp("10.0.0.1", 1, 100)),
          policyOf(tcp("10.0.0.1", 1, 100), tcp("10.0.0.1", 40, 50)).allowances());
    }

    @Test
    void duplicates_collapse() {
      assertEquals(
          List.of(tcp("example.com", 443, 443)),
          policyOf(tcp("example.com", 443, 443), tcp("EXAMPLE.com.", 443, 443)).allowances());
    }

    @Test
    void differentProtocolsOrDestinations_neverMerge() {
      Allowance udp = new Allowance(Destination.parse("10.0.0.1"), Protocol.UDP, PortRange.of(11));
      EgressPolicy policy = policyOf(tcp("10.0.0.1", 1, 10), udp, tcp("10.0.0.2", 11, 20));

      assertEquals(3, policy.allowances().size());
    }

    @Test
    void allowances_areOrderedGatewayNetworksHostsThenUnsafe() {
      EgressPolicy policy =
          policyOf(
              tcp("unsafe-any-address", 443, 443),
              tcp("b.example", 443, 443),
              tcp("fd00::/8", 443, 443),
              tcp("a.example", 443, 443),
              tcp("10.0.0.0/8", 443, 443),
              tcp("gateway", 3001, 3001));

      assertEquals(
          List.of(
              "gateway", "10.0.0.0/8", "fd00::/8", "a.example", "b.example", "unsafe-any-address"),
          policy.allowances().stream().map(a -> a.destination().toString()).toList());
    }

    @Test
    void policies_listingTheSameAllowancesInAnyOrder_areEqual() {
      assertEquals(
          policyOf(tcp("a.example", 443, 443), tcp("10.0.0.1", 80, 80)),
          policyOf(tcp("10.0.0.1", 80, 80), tcp("a.example", 443, 443)));
    }

    @Test
    void anAllowanceOfPort53Alone_isRejected_pointingToTheDnsLine() {
      String message =
          assertThrows(IllegalArgumentException.class, () -> policyOf(tcp("10.0.0.1", 53, 53)))
              .getMessage();
      assertTrue(message.contains("dns"), message);
    }

    @Test
    void rangesSpanning53_areAccepted() {
      assertEquals(
          List.of(tcp("10.0.0.1", 52, 54)), policyOf(tcp("10.0.0.1", 52, 54)).allowances());
    }

    @Test
    void allowances_areImmutable() {
      EgressPolicy policy = policyOf(tcp("10.0.0.1", 80, 80));
      assertThrows(
          UnsupportedOperationException.class,
          () -> policy.allowances().add(tcp("10.0.0.2", 80, 80)));
    }

    @Test
    void builder_defaultsToDnsViaGatewayAndNoLogging() {
      EgressPolicy policy =
          EgressPolicy.builder().allowTcp(Destination.host("a.example"), 443).build();
      assertEquals(DnsRule.gateway(), policy.dns());
      assertFalse(policy.logDenied());
    }

    @Test
    void hostNames_excludeWildcards_andAreSorted() {
      EgressPolicy policy =
          policyOf(
              tcp("b.example", 443, 443),
              tcp("*.c.example", 443, 443),
              tcp("a.example", 443, 443),
              tcp("10.0.0.1", 443, 443));

      assertEquals(
          List.of(HostName.of("a.example"), HostName.of("b.example")),
          List.copyOf(policy.hostNames()));
      assertTrue(policy.requiresDnsFiltering());
      assertFalse(policyOf(tcp("a.example", 443, 443)).requiresDnsFiltering());
    }

    @Test
    void usesGateway_byDestinationOrByDnsRule() {
      assertTrue(policyOf(tcp("gateway", 3001, 3001)).usesGateway());
      assertFalse(policyOf(tcp("10.0.0.1", 3001, 3001)).usesGateway());
      assertTrue(new EgressPolicy(List.of(), DnsRule.gateway(), false).usesGateway());
      assertFalse(EgressPolicy.denyAll().usesGateway());
    }

    @Test
    void aSlashZeroNetwork_isRefused_pointingToTheUnsafeKeyword() {
      String message =
          assertThrows(IllegalArgumentException.class, () -> Destination.network("0.0.0.0/0"))
              .getMessage();
      assertTrue(message.contains("unsafe-any-address"), message);
      assertThrows(IllegalArgumentException.class, () -> Destination.network("::/0"));
    }

    @Test
    void twoHalvesOfIpv4_areRefusedLikeASlashZero() {
      String message =
          assertThrows(
                  IllegalArgumentException.class,
                  () -> policyOf(tcp("0.0.0.0/1", 443, 443), tcp("128.0.0.0/1", 443, 443)))
              .getMessage();
      assertEquals(
          "the networks (0.0.0.0/1, 128.0.0.0/1) together allow every IPv4 address for tcp port"
              + " 443, as a /0 network would: if that is really meant, write 'allow"
              + " unsafe-any-address port 443'",
          message);
    }

    @Test
    void twoHalvesOfIpv6_overUdp_areRefused_withTheUdpSpelling() {
      Allowance low = new Allowance(Destination.parse("::/1"), Protocol.UDP, PortRange.all());
      Allowance high = new Allowance(Destination.parse("8000::/1"), Protocol.UDP, PortRange.all());
      String message =
          assertThrows(IllegalArgumentException.class, () -> policyOf(low, high)).getMessage();
      assertTrue(
          message.contains(
              "every IPv6 address for udp ports 1-52, as a /0 network would: if that is really"
                  + " meant, write 'allow unsafe-any-address port 1-52 proto udp'"),
          message);
    }

    @Test
    void manySmallNetworks_coveringAFamily_areRefused_andListedShort() {
      List<Allowance> sixteenths = new java.util.ArrayList<>();
      for (int i = 0; i < 16; i++) {
        sixteenths.add(tcp((i * 16) + ".0.0.0/4", 443, 443));
      }
      String message =
          assertThrows(
                  IllegalArgumentException.class,
                  () -> new EgressPolicy(sixteenths, DnsRule.none(), false))
              .getMessage();
      assertTrue(
          message.startsWith(
              "the networks (0.0.0.0/4, 16.0.0.0/4, 32.0.0.0/4, 48.0.0.0/4 and 12 more)"),
          message);
    }

    @Test
    void halvesOnDifferentPorts_orProtocols_orFamilies_areFine() {
      policyOf(tcp("0.0.0.0/1", 443, 443), tcp("128.0.0.0/1", 444, 444));
      policyOf(
          tcp("0.0.0.0/1", 443, 443),
          new Allowance(Destination.parse("128.0.0.0/1"), Protocol.UDP, PortRange.of(443)));
      policyOf(tcp("0.0.0.0/1", 443, 443), tcp("8000::/1", 443, 443));
      policyOf(
          tcp("0.0.0.0/1", 1, 65535), tcp("128.0.0.0/2", 1, 65535), tcp("192.0.0.0/3", 1, 65535));
    }

    @Test
    void halvesMeetingOnPort53Only_areFine_sinceAllowRulesNeverOpenIt() {
      policyOf(tcp("0.0.0.0/1", 50, 53), tcp("128.0.0.0/1", 53, 60));
    }

    @Test
    void halvesOnPortsThatUnsafeAnyAddressOpensAnyway_areFine() {
      policyOf(
          tcp("0.0.0.0/1", 443, 443),
          tcp("128.0.0.0/1", 443, 443),
          tcp(Destination.UnsafeAnyAddress.KEYWORD, 400, 500));
      assertThrows(
          IllegalArgumentException.class,
          () ->
              policyOf(
                  tcp("0.0.0.0/1", 443, 444),
                  tcp("128.0.0.0/1", 443, 444),
                  tcp(Destination.UnsafeAnyAddress.KEYWORD, 400, 443)));
    }
  }

  @Nested
  class Permits {
    private final Resolutions apiAt7 = new Resolutions(Map.of(API, Set.of(ip("192.0.2.7"))));

    @Test
    void aNetworkRule_allowsItsAddressesProtocolAndPorts_only() {
      EgressPolicy policy = policyOf(tcp("10.1.0.0/16", 5432, 5433));

      assertTrue(policy.permits(Flow.tcp(ip("10.1.2.3"), 5432), GATEWAY, Resolutions.none()));
      assertTrue(policy.permits(Flow.tcp(ip("10.1.255.255"), 5433), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.tcp(ip("10.2.0.1"), 5432), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.tcp(ip("10.1.2.3"), 5434), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.udp(ip("10.1.2.3"), 5432), GATEWAY, Resolutions.none()));
    }

    @Test
    void aHostRule_allowsWhatTheNameResolvesToNow() {
      EgressPolicy policy = policyOf(tcp("api.example.com", 443, 443));

      assertTrue(policy.permits(Flow.tcp(ip("192.0.2.7"), 443), null, apiAt7));
      assertFalse(policy.permits(Flow.tcp(ip("192.0.2.8"), 443), null, apiAt7));
      assertFalse(
          policy.permits(
              Flow.tcp(ip("192.0.2.7"), 443), null, apiAt7.with(API, Set.of(ip("192.0.2.8")))));
    }

    @Test
    void aNameThatResolvesToNothing_allowsNothing() {
      EgressPolicy policy = policyOf(tcp("api.example.com", 443, 443));

      assertFalse(policy.permits(Flow.tcp(ip("192.0.2.7"), 443), null, Resolutions.none()));
      assertFalse(
          policy.permits(
              Flow.tcp(ip("192.0.2.7"), 443), null, new Resolutions(Map.of(API, Set.of()))));
    }

    @Test
    void resolutionsOfOtherNames_allowNothing() {
      EgressPolicy policy = policyOf(tcp("other.example.com", 443, 443));
      assertFalse(policy.permits(Flow.tcp(ip("192.0.2.7"), 443), null, apiAt7));
    }

    @Test
    void aWildcardRule_allowsWhatTheWildcardItselfResolvesTo_notWhatMatchingNamesDo() {
      HostName wildcard = HostName.of("*.example.com");
      EgressPolicy policy = policyOf(tcp("*.example.com", 443, 443));
      Resolutions matchingName =
          new Resolutions(Map.of(HostName.of("x.example.com"), Set.of(ip("192.0.2.7"))));

      assertFalse(policy.permits(Flow.tcp(ip("192.0.2.7"), 443), null, matchingName));
      assertFalse(policy.permits(Flow.tcp(ip("192.0.2.7"), 443), null, Resolutions.none()));
      assertTrue(
          policy.permits(
              Flow.tcp(ip("192.0.2.8"), 443),
              null,
              matchingName.with(wildcard, Set.of(ip("192.0.2.8")))));
    }

    @Test
    void theGatewayRule_allowsTheKnownGateway_only() {
      EgressPolicy policy = policyOf(tcp("gateway", 3001, 3001));

      assertTrue(policy.permits(Flow.tcp(GATEWAY, 3001), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.tcp(ip("192.168.64.2"), 3001), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.tcp(GATEWAY, 3002), GATEWAY, Resolutions.none()));
    }

    @Test
    void theGatewayRule_withAnUnknownGateway_allowsNothing() {
      EgressPolicy policy = policyOf(tcp("gateway", 3001, 3001));
      assertFalse(policy.permits(Flow.tcp(GATEWAY, 3001), null, Resolutions.none()));
    }

    @Test
    void unsafeAnyAddress_allowsEveryAddressOfBothFamilies_onItsPortsAndProtocol() {
      EgressPolicy policy = policyOf(tcp("unsafe-any-address", 443, 443));

      assertTrue(policy.permits(Flow.tcp(ip("203.0.113.1"), 443), null, Resolutions.none()));
      assertTrue(policy.permits(Flow.tcp(ip("2001:db8::1"), 443), null, Resolutions.none()));
      assertFalse(policy.permits(Flow.tcp(ip("203.0.113.1"), 444), null, Resolutions.none()));
      assertFalse(policy.permits(Flow.udp(ip("203.0.113.1"), 443), null, Resolutions.none()));
    }

    @Test
    void port53_goesOnlyToTheNamedResolvers_overTcpAndUdp_whateverTheAllowRulesSay() {
      EgressPolicy policy =
          new EgressPolicy(
              List.of(
                  tcp("unsafe-any-address", 1, 65535),
                  new Allowance(new Destination.UnsafeAnyAddress(), Protocol.UDP, PortRange.all())),
              DnsRule.servers(ip("10.0.0.53")),
              false);

      assertTrue(policy.permits(Flow.udp(ip("10.0.0.53"), 53), GATEWAY, Resolutions.none()));
      assertTrue(policy.permits(Flow.tcp(ip("10.0.0.53"), 53), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.udp(ip("10.0.0.54"), 53), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.udp(GATEWAY, 53), GATEWAY, Resolutions.none()));
      assertTrue(policy.permits(Flow.udp(ip("10.0.0.54"), 54), GATEWAY, Resolutions.none()));
    }

    @Test
    void dnsViaGateway_allowsPort53ToTheKnownGateway_only() {
      EgressPolicy policy = new EgressPolicy(List.of(), DnsRule.gateway(), false);

      assertTrue(policy.permits(Flow.udp(GATEWAY, 53), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.udp(ip("10.0.0.53"), 53), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.udp(GATEWAY, 53), null, Resolutions.none()));
    }

    @Test
    void dnsNone_allowsNoPort53() {
      EgressPolicy policy =
          new EgressPolicy(List.of(tcp("10.0.0.53", 1, 100)), DnsRule.none(), false);

      assertFalse(policy.permits(Flow.tcp(ip("10.0.0.53"), 53), GATEWAY, Resolutions.none()));
      assertTrue(policy.permits(Flow.tcp(ip("10.0.0.53"), 52), GATEWAY, Resolutions.none()));
    }

    @Test
    void denyAll_allowsNothing() {
      EgressPolicy policy = EgressPolicy.denyAll();
      assertFalse(policy.permits(Flow.tcp(GATEWAY, 443), GATEWAY, Resolutions.none()));
      assertFalse(policy.permits(Flow.udp(GATEWAY, 53), GATEWAY, Resolutions.none()));
    }

    @Test
    void ipv4Rules_neverMatchIpv6Flows_andTheReverse() throws Exception {
      EgressPolicy v4 = policyOf(tcp("10.0.0.0/8", 443, 443));
      EgressPolicy v6 = policyOf(tcp("::/8", 443, 443));
      InetAddress compatible = ip("::10.0.0.1");
      InetAddress mapped =
          Inet6Address.getByAddress(
              null,
              new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 10, 0, 0, 1},
              -1);

      assertFalse(v4.permits(Flow.tcp(compatible, 443), null, Resolutions.none()));
      assertFalse(v4.permits(Flow.tcp(mapped, 443), null, Resolutions.none()));
      assertFalse(v6.permits(Flow.tcp(ip("10.0.0.1"), 443), null, Resolutions.none()));
      assertTrue(v6.permits(Flow.tcp(compatible, 443), null, Resolutions.none()));
    }

    @Test
    void aNameResolvingToAnIpv4CompatibleAddress_doesNotAllowTheIpv4Address() {
      EgressPolicy policy = policyOf(tcp("api.example.com", 443, 443));
      Resolutions compatible = new Resolutions(Map.of(API, Set.of(ip("::10.0.0.1"))));

      assertFalse(policy.permits(Flow.tcp(ip("10.0.0.1"), 443), null, compatible));
    }
  }

  @Nested
  class DnsFiltering {
    private final InetAddress filter = ip("10.213.0.1");
    private final EgressPolicy policy =
        EgressPolicy.builder()
            .allowTcp(Destination.host("*.example.com"), 443)
            .allowTcp(Destination.host("api.example.com"), 8443)
            .allowTcp(Destination.host("example.org"), 443)
            .dns(DnsRule.filter())
            .build();

    @Test
    void aWildcard_coversNamesBelowItsSuffix_notTheApex_norLookalikes() {
      assertEquals(
          Set.of(HostName.of("*.example.com")),
          policy.namesCovering(HostName.of("a.b.example.com")));
      assertEquals(
          Set.of(HostName.of("*.example.com"), HostName.of("api.example.com")),
          policy.namesCovering(HostName.of("API.Example.COM.")));
      assertTrue(policy.namesCovering(HostName.of("example.com")).isEmpty());
      assertTrue(policy.namesCovering(HostName.of("badexample.com")).isEmpty());
      assertTrue(policy.namesCovering(HostName.of("example.com.evil.test")).isEmpty());
      assertEquals(
          Set.of(HostName.of("example.org")), policy.namesCovering(HostName.of("example.org")));
      assertTrue(policy.namesCovering(HostName.of("www.example.org")).isEmpty());
    }

    @Test
    void aWildcardAsked_isCoveredByNothing() {
      assertTrue(policy.namesCovering(HostName.of("*.example.com")).isEmpty());
      assertTrue(policy.namesCovering(HostName.of("*.a.example.com")).isEmpty());
    }

    @Test
    void dnsFilter_allowsPort53ToTheFilterOnly_andToNothingWithoutOne() {
      Resolutions none = Resolutions.none();
      assertTrue(policy.permits(Flow.udp(filter, 53), GATEWAY, filter, none));
      assertTrue(policy.permits(Flow.tcp(filter, 53), GATEWAY, filter, none));
      assertFalse(policy.permits(Flow.udp(GATEWAY, 53), GATEWAY, filter, none));
      assertFalse(policy.permits(Flow.udp(ip("8.8.8.8"), 53), GATEWAY, filter, none));
      assertFalse(policy.permits(Flow.udp(filter, 53), GATEWAY, none));
      assertFalse(policy.permits(Flow.udp(GATEWAY, 53), GATEWAY, none));
    }

    @Test
    void aWildcardsSet_holdsWhatWasGranted_andNothingElse() {
      Resolutions granted =
          Resolutions.none().with(HostName.of("*.example.com"), Set.of(ip("192.0.2.7")));
      assertTrue(policy.permits(Flow.tcp(ip("192.0.2.7"), 443), GATEWAY, filter, granted));
      assertFalse(policy.permits(Flow.tcp(ip("192.0.2.7"), 8443), GATEWAY, filter, granted));
      assertFalse(policy.permits(Flow.tcp(ip("192.0.2.8"), 443), GATEWAY, filter, granted));
    }

    @Test
    void needsAFilter_withDnsFilterOrAWildcard() {
      assertTrue(policy.requiresDnsFiltering());
      assertTrue(EgressPolicy.builder().dns(DnsRule.filter()).build().requiresDnsFiltering());
      assertTrue(
          EgressPolicy.builder()
              .allowTcp(Destination.host("*.example.com"), 443)
              .build()
              .requiresDnsFiltering());
      assertFalse(
          EgressPolicy.builder()
              .allowTcp(Destination.host("example.com"), 443)
              .build()
              .requiresDnsFiltering());
      assertFalse(policy.usesGateway());
    }
  }
}
