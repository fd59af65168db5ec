package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.plan.Allow;
import dev.egress.plan.EnforcementPlan;
import dev.egress.plan.Family;
import dev.egress.plan.Target;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.EgressArbitraries;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;
import net.jqwik.api.statistics.Statistics;

/**
 * The host sets over generated policies, resolutions and grants: what their elements let through is
 * what the plan's host lines allow, and the kernel accepts them (no two elements of a set overlap).
 */
class HostSetsProperties {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private static final InetAddress FILTER = IpAddresses.parse("10.213.0.1");

  /** Few addresses, so that names share them (as names served by one CDN do). */
  private static final List<InetAddress> POOL =
      List.of(
          IpAddresses.parse("192.0.2.1"),
          IpAddresses.parse("192.0.2.2"),
          IpAddresses.parse("192.0.2.3"),
          IpAddresses.parse("2001:db8::1"),
          IpAddresses.parse("2001:db8::2"));

  /**
   * A plan under a DNS filter whose names resolve to and are granted addresses of {@link #POOL},
   * some grants ended at {@link #NOW}.
   */
  @Provide
  Arbitrary<EnforcementPlan> plans() {
    Arbitrary<Set<InetAddress>> resolved = Arbitraries.of(POOL).set().ofMaxSize(2);
    Arbitrary<Map<InetAddress, Instant>> granted =
        Arbitraries.maps(
                Arbitraries.of(POOL),
                Arbitraries.longs().between(-5_000, 60_000).map(NOW::plusMillis))
            .ofMaxSize(3);
    return Combinators.combine(
            EgressArbitraries.policies().filter(policy -> !policy.hostNames().isEmpty()),
            EgressArbitraries.containerEndpoints(),
            resolved.list().ofSize(8),
            granted.list().ofSize(8))
        .as(
            (policy, endpoint, resolutions, grants) -> {
              List<HostName> names = new ArrayList<>(policy.hostNames());
              Map<HostName, Set<InetAddress>> addresses = new HashMap<>();
              Map<HostName, Map<InetAddress, Instant>> byName = new HashMap<>();
              for (int i = 0; i < names.size(); i++) {
                addresses.put(names.get(i), resolutions.get(i % resolutions.size()));
                byName.put(names.get(i), grants.get(i % grants.size()));
              }
              return EnforcementPlan.of(policy, endpoint, new Resolutions(addresses), FILTER)
                  .withGrants(byName);
            });
  }

  /**
   * A plan and a flow towards what it holds: one of its resolved or granted addresses (or any
   * address), at a bound of one of its ports give or take one (or any port).
   */
  @Provide
  Arbitrary<Tuple2<EnforcementPlan, Flow>> plansAndFlows() {
    return plans()
        .flatMap(
            plan -> {
              List<InetAddress> held = new ArrayList<>();
              List<Integer> ports = new ArrayList<>();
              for (HostName name : plan.names()) {
                for (Family family : Family.values()) {
                  held.addAll(plan.addresses(name, family));
                  held.addAll(plan.granted(name, family).keySet());
                }
              }
              for (Allow allow : plan.allows()) {
                for (PortRange range : allow.ports().ranges()) {
                  for (int bound : List.of(range.first(), range.last())) {
                    for (int port = bound - 1; port <= bound + 1; port++) {
                      if (port >= 1 && port <= 65535) {
                        ports.add(port);
                      }
                    }
                  }
                }
              }
              Arbitrary<InetAddress> destinations =
                  held.isEmpty()
                      ? EgressArbitraries.addresses()
                      : Arbitraries.frequencyOf(
                          Tuple.of(4, Arbitraries.of(held)),
                          Tuple.of(1, EgressArbitraries.addresses()));
              Arbitrary<Integer> chosenPorts =
                  ports.isEmpty()
                      ? EgressArbitraries.ports()
                      : Arbitraries.frequencyOf(
                          Tuple.of(4, Arbitraries.of(ports)),
                          Tuple.of(1, EgressArbitraries.ports()));
              return Combinators.combine(Arbitraries.of(Protocol.class), destinations, chosenPorts)
                  .as(Flow::new)
                  .map(flow -> Tuple.of(plan, flow));
            });
  }

  @Property(tries = 2000)
  void theElementsLetThrough_exactlyWhatTheHostLinesAllow(
      @ForAll("plansAndFlows") Tuple2<EnforcementPlan, Flow> planAndFlow) {
    EnforcementPlan plan = planAndFlow.get1();
    Flow flow = planAndFlow.get2();
    HostSets sets = HostSets.of(plan);
    Family family = Family.of(flow.destination());
    List<SetElement> held = new ArrayList<>(sets.resolved(plan, family));
    sets.granted(plan, family)
        .forEach(
            (element, until) -> {
              if (until.isAfter(NOW)) {
                held.add(element);
              }
            });
    boolean throughElements =
        held.stream()
            .anyMatch(
                element ->
                    element.address().equals(flow.destination())
                        && element.protocol() == flow.protocol()
                        && element.ports().contains(flow.port()));

    boolean allowed = hostLinesAllow(plan, flow);
    assertEquals(allowed, throughElements, flow + " under " + plan);
    // Not vacuous: enough of the generated flows are let through by the sets.
    Statistics.label("allowed").collect(allowed);
    Statistics.label("allowed")
        .coverage(coverage -> coverage.check(true).percentage(percent -> percent >= 3));
  }

  @Property(tries = 1000)
  void noTwoElementsOfASetOverlap_andNoElementIsBothResolvedAndGranted(
      @ForAll("plans") EnforcementPlan plan) {
    HostSets sets = HostSets.of(plan);
    for (Family family : Family.values()) {
      Set<SetElement> resolved = sets.resolved(plan, family);
      Map<SetElement, Instant> granted = sets.granted(plan, family);
      List<SetElement> all = new ArrayList<>(resolved);
      all.addAll(granted.keySet());
      for (SetElement element : granted.keySet()) {
        assertFalse(resolved.contains(element), element.toString());
      }
      for (int i = 0; i < all.size(); i++) {
        for (int j = i + 1; j < all.size(); j++) {
          SetElement one = all.get(i);
          SetElement other = all.get(j);
          boolean sameKey =
              one.address().equals(other.address()) && one.protocol() == other.protocol();
          assertTrue(
              !sameKey
                  || one.ports().last() < other.ports().first()
                  || other.ports().last() < one.ports().first(),
              one + " overlaps " + other);
        }
      }
    }
  }

  /** The per-name meaning: a host line of the flow's protocol and port whose name holds it. */
  private static boolean hostLinesAllow(EnforcementPlan plan, Flow flow) {
    for (Allow allow : plan.allows()) {
      if (allow.target() instanceof Target.AddressSet set
          && allow.protocol() == flow.protocol()
          && allow.ports().contains(flow.port())) {
        Family family = Family.of(flow.destination());
        Instant until = plan.granted(set.name(), family).get(flow.destination());
        if (plan.addresses(set.name(), family).contains(flow.destination())
            || (until != null && until.isAfter(NOW))) {
          return true;
        }
      }
    }
    return false;
  }

  @Provide
  Arbitrary<EgressPolicy> policies() {
    return EgressArbitraries.policies();
  }

  @Provide
  Arbitrary<Resolutions> resolutions() {
    return EgressArbitraries.resolutions();
  }

  @Provide
  Arbitrary<ContainerEndpoint> endpoints() {
    return EgressArbitraries.containerEndpoints();
  }
}
