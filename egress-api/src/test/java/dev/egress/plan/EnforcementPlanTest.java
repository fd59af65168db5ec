package dev.egress.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class EnforcementPlanTest {
  private static final InetAddress GATEWAY = IpAddresses.parse("192.168.64.1");
  private static final InetAddress API = IpAddresses.parse("160.79.104.10");
  private static final InetAddress API_V6 = IpAddresses.parse("2607:6bc0::10");
  private static final HostName API_NAME = HostName.of("api.anthropic.com");

  private static EgressPolicy policy(String text) throws PolicySyntaxException {
    return PolicyText.parse(text, "test");
  }

  private static ContainerEndpoint container(InetAddress gateway) {
    return new ContainerEndpoint(
        ContainerId.of("agent-1"),
        List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00:64::3")),
        gateway);
  }

  @Test
  void ports_takeOut53_once_andEqualSetsAreEqual() {
    Ports spanning = Ports.allowedBy(new PortRange(1, 1024)).orElseThrow();
    assertEquals(List.of(new PortRange(1, 52), new PortRange(54, 1024)), spanning.ranges());
    assertFalse(spanning.contains(53));
    assertTrue(spanning.contains(52) && spanning.contains(54));
    assertEquals(Ports.allowedBy(new PortRange(54, 80)), Ports.allowedBy(new PortRange(53, 80)));
    assertEquals(Ports.allowedBy(new PortRange(1, 52)), Ports.allowedBy(new PortRange(1, 53)));
    assertEquals(Optional.empty(), Ports.allowedBy(PortRange.of(53)));
    assertEquals(
        List.of(PortRange.of(443)), Ports.allowedBy(PortRange.of(443)).orElseThrow().ranges());
    assertThrows(IllegalArgumentException.class, () -> new Ports(new PortRange(53, 60)));
    assertTrue(spanning.includes(Ports.allowedBy(new PortRange(40, 60)).orElseThrow()));
    assertFalse(Ports.allowedBy(new PortRange(40, 60)).orElseThrow().includes(spanning));
  }

  @Test
  void of_substitutesTheGateway_keepsPolicyOrder_andHoldsEachNamesAddresses() throws Exception {
    EnforcementPlan plan =
        EnforcementPlan.of(
            policy(
                "allow api.anthropic.com port 443\nallow gateway port 3001\n"
                    + "allow 10.0.0.0/8 port 1-100 proto udp\ndns gateway\nlog denied\n"),
            container(GATEWAY),
            new Resolutions(Map.of(API_NAME, Set.of(API, API_V6))));

    assertEquals(List.of(GATEWAY), plan.resolvers());
    assertEquals(
        List.of(
            new Allow(
                Protocol.TCP,
                Ports.allowedBy(PortRange.of(3001)).orElseThrow(),
                new Target.Network(IpNetwork.host(GATEWAY))),
            new Allow(
                Protocol.UDP,
                Ports.allowedBy(new PortRange(1, 100)).orElseThrow(),
                new Target.Network(IpNetwork.parse("10.0.0.0/8"))),
            new Allow(
                Protocol.TCP,
                Ports.allowedBy(PortRange.of(443)).orElseThrow(),
                new Target.AddressSet(API_NAME))),
        plan.allows());
    assertEquals(List.of(API_NAME), plan.names());
    assertEquals(Set.of(API), plan.addresses(API_NAME, Family.IPV4));
    assertEquals(Set.of(API_V6), plan.addresses(API_NAME, Family.IPV6));
    assertEquals(3, plan.allows(Family.IPV4).size(), "the IPv4 networks and the address set");
    assertEquals(1, plan.allows(Family.IPV6).size(), "a name's set applies to both families");
    assertTrue(plan.logDenied());
  }

  @Test
  void of_withTheGatewayUnknown_theGatewayContributesNothing() throws Exception {
    EnforcementPlan plan =
        EnforcementPlan.of(
            policy("allow gateway port 3001\ndns gateway\n"), container(null), Resolutions.none());

    assertEquals(List.of(), plan.resolvers());
    assertEquals(List.of(), plan.allows());
    assertFalse(plan.permits(Flow.tcp(GATEWAY, 3001)));
    assertFalse(plan.permits(Flow.udp(GATEWAY, 53)));
  }

  @Test
  void permits_neverOpens53ThroughAnAllowLine() throws Exception {
    EnforcementPlan plan =
        EnforcementPlan.of(
            policy("allow unsafe-any-address port 1-65535 proto udp\ndns none\n"),
            container(GATEWAY),
            Resolutions.none());

    assertTrue(plan.permits(Flow.udp(API, 52)));
    assertFalse(plan.permits(Flow.udp(API, 53)));
    assertTrue(plan.permits(Flow.udp(API_V6, 54)));
  }

  @Test
  void rules_dependOnThePolicyAndEndpointAlone_onlyTheAddressesFollowResolutions()
      throws Exception {
    EgressPolicy policy = policy("allow api.anthropic.com port 443\n");
    EnforcementPlan before = EnforcementPlan.of(policy, container(GATEWAY), Resolutions.none());
    EnforcementPlan after =
        EnforcementPlan.of(
            policy, container(GATEWAY), new Resolutions(Map.of(API_NAME, Set.of(API))));

    assertEquals(before.allows(), after.allows());
    assertEquals(before.names(), after.names());
    assertEquals(Set.of(), before.addresses(API_NAME, Family.IPV4));
    assertFalse(before.permits(Flow.tcp(API, 443)), "a name that resolves to nothing: nothing");
    assertTrue(after.permits(Flow.tcp(API, 443)));
  }

  @Test
  void aPlanCannotUseAnAddressSetItDoesNotHold() {
    Allow allow =
        new Allow(
            Protocol.TCP,
            Ports.allowedBy(PortRange.of(443)).orElseThrow(),
            new Target.AddressSet(API_NAME));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new EnforcementPlan(
                List.of(API),
                List.of(),
                null,
                List.of(allow),
                new TreeMap<>(),
                new TreeMap<>(),
                false));
  }

  @Test
  void targets_coverWhatTheyHoldWhateverNamesResolveTo() {
    Target wide = new Target.Network(IpNetwork.parse("10.0.0.0/8"));
    Target narrow = new Target.Network(IpNetwork.parse("10.1.0.0/16"));
    Target name = new Target.AddressSet(API_NAME);

    assertTrue(wide.covers(narrow));
    assertFalse(narrow.covers(wide));
    assertFalse(wide.covers(new Target.Network(IpNetwork.parse("fd00::/8"))));
    assertFalse(wide.covers(name), "a name may resolve anywhere");
    assertTrue(name.covers(name));
    assertTrue(new Target.AnyAddress().covers(name));
    assertFalse(name.covers(new Target.AnyAddress()));
  }

  @Test
  void of_withDnsFilter_redirectsToTheFilter_andHoldsWildcardSets() throws Exception {
    InetAddress filter = IpAddresses.parse("10.213.0.1");
    EgressPolicy policy = policy("allow *.example.com port 443\ndns filter\n");
    HostName wildcard = HostName.of("*.example.com");
    Resolutions granted = Resolutions.none().with(wildcard, Set.of(API));

    EnforcementPlan plan = EnforcementPlan.of(policy, container(GATEWAY), granted, filter);

    assertEquals(filter, plan.dnsFilter());
    assertEquals(List.of(filter), plan.resolvers());
    assertEquals(List.of(wildcard), plan.names());
    assertTrue(plan.permits(Flow.tcp(API, 443)));
    assertTrue(plan.permits(Flow.udp(filter, 53)));
    assertFalse(plan.permits(Flow.udp(GATEWAY, 53)));
  }

  @Test
  void of_withDnsFilterButNoFilter_allowsNoDns_andRedirectsNothing() throws Exception {
    EnforcementPlan plan =
        EnforcementPlan.of(policy("dns filter\n"), container(GATEWAY), Resolutions.none());

    assertEquals(null, plan.dnsFilter());
    assertEquals(List.of(), plan.resolvers());
  }

  @Test
  void of_withAFilterButAnotherDnsRule_redirectsNothing() throws Exception {
    EnforcementPlan plan =
        EnforcementPlan.of(
            policy("dns gateway\n"),
            container(GATEWAY),
            Resolutions.none(),
            IpAddresses.parse("10.213.0.1"));

    assertEquals(null, plan.dnsFilter());
    assertEquals(List.of(GATEWAY), plan.resolvers());
  }

  @Test
  void aPlanThatRedirects_hasTheFilterAsItsOnlyResolver() {
    InetAddress filter = IpAddresses.parse("10.213.0.1");
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new EnforcementPlan(
                List.of(API),
                List.of(GATEWAY),
                filter,
                List.of(),
                new TreeMap<>(),
                new TreeMap<>(),
                false));
  }

  /** The plan of a wildcard under {@code dns filter}: its set starts empty. */
  private static EnforcementPlan wildcardPlan() throws PolicySyntaxException {
    return EnforcementPlan.of(
        policy("allow *.example.com port 443\ndns filter\n"),
        container(GATEWAY),
        Resolutions.none(),
        IpAddresses.parse("10.213.0.1"));
  }

  @Test
  void withGrants_keepsThoseOfNamesThePlanHolds_andPermitsThem() throws Exception {
    HostName wildcard = HostName.of("*.example.com");
    Instant until = Instant.parse("2026-01-01T00:05:00Z");
    EnforcementPlan plan =
        wildcardPlan()
            .withGrants(
                Map.of(
                    wildcard,
                    Map.of(API, until, API_V6, until),
                    HostName.of("gone.example"),
                    Map.of(GATEWAY, until)));

    assertEquals(Set.of(wildcard), plan.grants().keySet());
    assertEquals(Map.of(API, until), plan.granted(wildcard, Family.IPV4));
    assertEquals(Map.of(API_V6, until), plan.granted(wildcard, Family.IPV6));
    assertEquals(Set.of(), plan.addresses(wildcard, Family.IPV4), "grants are kept apart");
    assertTrue(plan.permits(Flow.tcp(API, 443)));
    assertFalse(plan.permits(Flow.tcp(API, 8443)));
    assertFalse(plan.permits(Flow.tcp(GATEWAY, 443)));
  }

  @Test
  void withGrantsAddedAndRemoved_changeOnlyWhatTheyName_andEqualTheWholeSpelledOut()
      throws Exception {
    HostName wildcard = HostName.of("*.example.com");
    Instant early = Instant.parse("2026-01-01T00:05:00Z");
    Instant late = early.plusSeconds(60);
    EnforcementPlan plan = wildcardPlan().withGrants(Map.of(wildcard, Map.of(API, early)));

    EnforcementPlan added =
        plan.withGrantsAdded(Map.of(wildcard, Map.of(API, late, API_V6, early)));
    assertEquals(plan.withGrants(Map.of(wildcard, Map.of(API, late, API_V6, early))), added);
    assertEquals(Map.of(wildcard, Map.of(API, early)), plan.grants(), "the plan before stays");

    EnforcementPlan removed = added.withGrantsRemoved(Map.of(wildcard, Set.of(API, GATEWAY)));
    assertEquals(Map.of(wildcard, Map.of(API_V6, early)), removed.grants());
    assertEquals(Map.of(), removed.withGrantsRemoved(Map.of(wildcard, Set.of(API_V6))).grants());
    assertThrows(
        IllegalArgumentException.class,
        () -> plan.withGrantsAdded(Map.of(API_NAME, Map.of(API, late))),
        "a name without an address set in the plan");
  }

  @Test
  void withGrants_withoutAFilter_holdsNone() throws Exception {
    EnforcementPlan plan =
        EnforcementPlan.of(
                policy("allow api.anthropic.com port 443\ndns gateway\n"),
                container(GATEWAY),
                Resolutions.none())
            .withGrants(Map.of(API_NAME, Map.of(API, Instant.EPOCH)));

    assertEquals(Map.of(), plan.grants());
    assertFalse(plan.permits(Flow.tcp(API, 443)));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new EnforcementPlan(
                plan.sources(),
                plan.resolvers(),
                null,
                plan.allows(),
                plan.addresses(),
                new TreeMap<>(Map.of(API_NAME, Map.of(API, Instant.EPOCH))),
                false));
  }
}
