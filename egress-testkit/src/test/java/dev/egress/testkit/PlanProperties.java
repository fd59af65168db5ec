package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.Allowance;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * The enforcement plan decides as the policy does: for random policies, endpoints, resolutions and
 * flows, {@link EnforcementPlan#permits} equals {@link EgressPolicy#permits}. And its rules depend
 * on the policy and endpoint alone: resolutions change only its address sets.
 */
class PlanProperties {

  record Case(EgressPolicy policy, ContainerEndpoint endpoint, Resolutions resolutions, Flow flow) {
    EnforcementPlan plan() {
      return EnforcementPlan.of(policy, endpoint, resolutions);
    }
  }

  @Provide
  Arbitrary<Case> cases() {
    return Combinators.combine(
            EgressArbitraries.policies(),
            EgressArbitraries.containerEndpoints(),
            EgressArbitraries.resolutions(),
            EgressArbitraries.flows(),
            Arbitraries.integers().between(0, 3))
        .as(
            (policy, endpoint, resolutions, flow, aim) -> {
              // Aim some cases at the flow: its destination is the gateway (1), every name's
              // address (2), or both, with the protocol and first port of an allow line (3).
              if (aim == 1 || aim == 3) {
                endpoint =
                    new ContainerEndpoint(endpoint.id(), endpoint.addresses(), flow.destination());
              }
              if (aim >= 2) {
                for (HostName name : policy.hostNames()) {
                  resolutions = resolutions.with(name, Set.of(flow.destination()));
                }
              }
              if (aim == 3 && !policy.allowances().isEmpty()) {
                Allowance line = policy.allowances().get(0);
                flow = new Flow(line.protocol(), flow.destination(), line.ports().first());
              }
              return new Case(policy, endpoint, resolutions, flow);
            });
  }

  @Property(tries = 5000)
  void thePlansVerdict_equalsThePolicysDecision(@ForAll("cases") Case c) {
    boolean expected = c.policy().permits(c.flow(), c.endpoint().gateway(), c.resolutions());

    assertEquals(expected, c.plan().permits(c.flow()), () -> c + "\n" + c.plan());

    Statistics.label("verdict").collect(expected ? "allowed" : "denied");
    Statistics.label("verdict")
        .coverage(
            coverage -> {
              coverage.check("allowed").percentage(p -> p > 10);
              coverage.check("denied").percentage(p -> p > 10);
            });
  }

  @Property(tries = 1000)
  void theRules_doNotDependOnWhatNamesResolveTo(
      @ForAll("cases") Case c, @ForAll("resolutionsOrNone") Resolutions other) {
    EnforcementPlan plan = c.plan();
    EnforcementPlan refreshed = EnforcementPlan.of(c.policy(), c.endpoint(), other);

    assertEquals(plan.sources(), refreshed.sources());
    assertEquals(plan.resolvers(), refreshed.resolvers());
    assertEquals(plan.allows(), refreshed.allows());
    assertEquals(plan.names(), refreshed.names());
    for (HostName name : plan.names()) {
      assertEquals(other.addressesOf(name), refreshed.addresses().get(name));
    }
  }

  @Property(tries = 1000)
  void noAllowLineOpensPort53(@ForAll("cases") Case c) {
    for (InetAddress resolver : c.plan().resolvers()) {
      // Resolvers are the only way to port 53 ...
      assertEquals(true, c.plan().permits(Flow.udp(resolver, 53)));
    }
    Flow dns = new Flow(c.flow().protocol(), c.flow().destination(), 53);
    // ... and everything else on port 53 is denied, whatever the allow lines say.
    assertEquals(c.plan().resolvers().contains(dns.destination()), c.plan().permits(dns));
  }

  @Provide
  Arbitrary<Resolutions> resolutionsOrNone() {
    return Arbitraries.oneOf(EgressArbitraries.resolutions(), Arbitraries.just(Resolutions.none()));
  }
}
