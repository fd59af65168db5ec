package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.dns.DnsNameResolver;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.testkit.LabRequirement;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 17 (finding 3): an address an answer drops is refused within the documented bound, with the
 * library's own {@link DnsNameResolver} asking a DNS server over the wire ({@link TestDnsServer})
 * and real probes from a container namespace. README, "A bound on stale addresses": the address
 * leaves the published set by {@code t + T + queryTimeout} when the upstream answers the refresh;
 * {@code t} is at the latest the moment the server's record changes, so the probes must show the
 * change by then, plus {@link #KERNEL_UPDATE} for the enforcer's one {@code nft} call on a shared
 * machine.
 */
class NftChangedAnswersKernelTest {
  private static final String API = "api.changing.test";
  private static final Duration TTL = Duration.ofSeconds(2);
  private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration KERNEL_UPDATE = Duration.ofSeconds(2);
  private static NetnsLab lab;
  private static TestDnsServer dns;

  @BeforeAll
  static void startLab() throws Exception {
    lab = LabRequirement.startLab(1, "nft", "conntrack");
    dns = TestDnsServer.start();
  }

  @AfterAll
  static void stopLab() {
    if (dns != null) {
      dns.close();
    }
    if (lab != null) {
      lab.close();
    }
  }

  @AfterEach
  void clearTable() throws Exception {
    LabNft.removeRuleSets(lab);
    dns.clear();
  }

  /** How the server's answer changes, and which probes must then reach. */
  enum Change {
    /** The name loses its AAAA record (NODATA for AAAA) and keeps its A record. */
    AAAA_DROPPED(Map.of("web0", true, "web0v6", false, "web1", false)),
    /** The A record moves to another address; the AAAA record stays. */
    A_REPLACED(Map.of("web0", false, "web0v6", true, "web1", true)),
    /** The name is gone (NXDOMAIN): neither family keeps an address. */
    NAME_GONE(Map.of("web0", false, "web0v6", false, "web1", false));

    final Map<String, Boolean> reachedAfter;

    Change(Map<String, Boolean> reachedAfter) {
      this.reachedAfter = reachedAfter;
    }

    void apply() {
      switch (this) {
        case AAAA_DROPPED -> dns.setAddresses(API, TTL, format(NetnsLab.web(0)));
        case A_REPLACED ->
            dns.setAddresses(API, TTL, format(NetnsLab.web(1)), format(NetnsLab.webV6(0)));
        case NAME_GONE -> dns.setBehaviour(API, TestDnsServer.Behaviour.NXDOMAIN);
      }
    }
  }

  private static String format(InetAddress address) {
    return IpAddresses.format(address);
  }

  private static Map<String, Boolean> probe(LabContainer c) {
    return Map.of(
        "web0", c.tcp(NetnsLab.web(0), 443) == Outcome.REACHED,
        "web0v6", c.tcp(NetnsLab.webV6(0), 443) == Outcome.REACHED,
        "web1", c.tcp(NetnsLab.web(1), 443) == Outcome.REACHED);
  }

  @ParameterizedTest
  @EnumSource(Change.class)
  void aDroppedAddress_isRefusedWithinTheDocumentedBound(Change change) throws Exception {
    dns.setAddresses(API, TTL, format(NetnsLab.web(0)), format(NetnsLab.webV6(0)));
    LabContainer c1 = lab.container(1);
    try (DnsNameResolver resolver =
            DnsNameResolver.builder()
                .servers(List.of(dns.address()))
                .ttlFloor(Duration.ofSeconds(1))
                .queryTimeout(QUERY_TIMEOUT)
                .build();
        NftEgressEnforcer enforcer =
            LabNft.enforcer(lab).resolver(resolver).guard(LabNft.guard(lab)).build()) {
      enforcer.attach(
          c1.endpoint(),
          EgressPolicy.builder().allowTcp(Destination.host(API), 443).dns(DnsRule.none()).build());
      assertEquals(
          Map.of("web0", true, "web0v6", true, "web1", false), probe(c1), "before the change");

      change.apply();
      long deadline = System.nanoTime() + TTL.plus(QUERY_TIMEOUT).plus(KERNEL_UPDATE).toNanos();
      Map<String, Boolean> seen = probe(c1);
      while (!seen.equals(change.reachedAfter) && System.nanoTime() < deadline) {
        Thread.sleep(100);
        seen = probe(c1);
      }

      assertEquals(
          change.reachedAfter,
          seen,
          "within TTL + query timeout + " + KERNEL_UPDATE + " of the change at the server");
      Thread.sleep(TTL.toMillis());
      assertEquals(change.reachedAfter, probe(c1), "and it stays so");
      assertTrue(dns.queries(API) >= 2, "the resolver asked again");
    }
  }
}
