package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.plan.EnforcementPlan;
import dev.egress.plan.Family;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The host sets' elements for names that share an address, with ports that overlap. */
class HostSetsTest {
  private static final InetAddress FILTER = IpAddresses.parse("10.213.0.1");
  private static final InetAddress SHARED = IpAddresses.parse("192.0.2.7");
  private static final HostName A = HostName.of("a.example.com");
  private static final HostName B = HostName.of("b.example.com");
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

  private static EnforcementPlan plan(String policy, Resolutions resolutions) throws Exception {
    return EnforcementPlan.of(
        PolicyText.parse(policy + "dns filter\n", "test"),
        new ContainerEndpoint(
            ContainerId.of("box"), List.of(IpAddresses.parse("10.213.0.2")), FILTER),
        resolutions,
        FILTER);
  }

  private static SetElement tcp(int first, int last) {
    return new SetElement(SHARED, Protocol.TCP, new PortRange(first, last));
  }

  @Test
  void portsAreCutAtEveryLinesBounds_resolvedPiecesStayWithoutATimeout_theRestTakeTheGrant()
      throws Exception {
    EnforcementPlan plan =
        plan(
                "allow a.example.com port 443\nallow b.example.com port 400-500\n",
                Resolutions.none().with(A, Set.of(SHARED)))
            .withGrants(Map.of(B, Map.of(SHARED, NOW.plusSeconds(30))));
    HostSets sets = HostSets.of(plan);

    assertEquals(Set.of(tcp(443, 443)), sets.resolved(plan, Family.IPV4));
    assertEquals(
        Map.of(tcp(400, 442), NOW.plusSeconds(30), tcp(444, 500), NOW.plusSeconds(30)),
        sets.granted(plan, Family.IPV4));
    assertEquals(Set.of(), sets.resolved(plan, Family.IPV6));
    assertEquals(Map.of(), sets.granted(plan, Family.IPV6));
  }

  @Test
  void anElementTwoNamesWereGranted_endsWithTheLaterGrant_whicheverEndedFirst() throws Exception {
    String policy =
        "allow a.example.com port 443\nallow b.example.com port 443\nallow b.example.com port 8443\n";
    for (Map<HostName, Map<InetAddress, Instant>> grants :
        List.of(
            Map.of(A, Map.of(SHARED, NOW.minusSeconds(1)), B, Map.of(SHARED, NOW.plusSeconds(9))),
            Map.of(
                A, Map.of(SHARED, NOW.plusSeconds(9)), B, Map.of(SHARED, NOW.minusSeconds(1))))) {
      EnforcementPlan plan = plan(policy, Resolutions.none()).withGrants(grants);

      Map<SetElement, Instant> granted = HostSets.of(plan).granted(plan, Family.IPV4);

      assertEquals(NOW.plusSeconds(9), granted.get(tcp(443, 443)), grants.toString());
      assertEquals(grants.get(B).get(SHARED), granted.get(tcp(8443, 8443)), grants.toString());
    }
  }

  @Test
  void aPlanWithoutHostLines_hasNoHostSets() throws Exception {
    assertTrue(HostSets.of(plan("allow 192.0.2.0/24 port 443\n", Resolutions.none())).isEmpty());
  }

  @Test
  void grantsCoveringEveryPiece_areThoseWithAnElementForEveryPiece_endingAtTheEarliest()
      throws Exception {
    EnforcementPlan plan =
        plan(
            "allow a.example.com port 443\nallow b.example.com port 400-500\n", Resolutions.none());
    HostSets sets = HostSets.of(plan);
    Instant early = NOW.plusSeconds(10);
    Instant late = NOW.plusSeconds(30);

    // b's pieces are 400-442, 443 and 444-500; a's is 443.
    assertEquals(
        Map.of(A, Map.of(SHARED, early)),
        sets.grantsCoveringEveryPiece(Map.of(tcp(443, 443), early, tcp(400, 442), late)),
        "b lacks a piece: not its grant");
    assertEquals(
        Map.of(A, Map.of(SHARED, late), B, Map.of(SHARED, early)),
        sets.grantsCoveringEveryPiece(
            Map.of(tcp(443, 443), late, tcp(400, 442), late, tcp(444, 500), early)));
    assertEquals(
        Map.of(),
        sets.grantsCoveringEveryPiece(Map.of(tcp(8443, 8443), late)),
        "an element of no piece");
  }

  @Test
  void grantsCoveringEveryPiece_renderedAgain_writeNothingTheyWereNotFoundIn() throws Exception {
    EnforcementPlan plan =
        plan(
            "allow a.example.com port 443\nallow b.example.com port 400-500\n", Resolutions.none());
    HostSets sets = HostSets.of(plan);
    Map<SetElement, Instant> found =
        Map.of(tcp(443, 443), NOW.plusSeconds(30), tcp(400, 442), NOW.plusSeconds(10));

    Map<SetElement, Instant> written =
        sets.granted(plan.withGrants(sets.grantsCoveringEveryPiece(found)), Family.IPV4);

    assertEquals(Map.of(tcp(443, 443), NOW.plusSeconds(30)), written);
  }
}
