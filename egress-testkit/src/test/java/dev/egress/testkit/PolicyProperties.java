package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.Allowance;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.policy.PortRange;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Round trips and normalisation of the policy model over generated values. These live here rather
 * than in egress-api so that they use {@link EgressArbitraries} (egress-api cannot depend on the
 * testkit, which depends on it).
 */
class PolicyProperties {

  @Provide
  Arbitrary<EgressPolicy> policies() {
    return EgressArbitraries.policies();
  }

  @Provide
  Arbitrary<List<Allowance>> allowanceLists() {
    return EgressArbitraries.allowanceLists(10);
  }

  @Provide
  Arbitrary<HostName> hostNames() {
    return net.jqwik.api.Arbitraries.oneOf(
        EgressArbitraries.anyHostNames(),
        EgressArbitraries.hostNames(),
        EgressArbitraries.wildcardHostNames());
  }

  @Provide
  Arbitrary<IpNetwork> networks() {
    return EgressArbitraries.networks();
  }

  @Property
  void format_thenParse_givesAnEqualPolicy(@ForAll("policies") EgressPolicy policy)
      throws Exception {
    String text = PolicyText.format(policy);

    EgressPolicy parsed = PolicyText.parse(text, "generated");

    assertEquals(policy, parsed, text);
    assertEquals(text, PolicyText.format(parsed));
  }

  @Property
  void hostNames_roundTripThroughTheirAsciiForm_andAsDestinations(
      @ForAll("hostNames") HostName name) {
    assertEquals(name, HostName.of(name.ascii()));
    assertEquals(name, HostName.of(name.ascii() + "."));
    Destination host = new Destination.Host(name);
    assertEquals(host, Destination.parse(host.toString()));
  }

  @Property
  void networks_roundTripThroughTheirText(@ForAll("networks") IpNetwork network) {
    assertEquals(network, IpNetwork.parse(network.toString()));
    assertTrue(network.contains(network.address()));
  }

  @Property
  void normalisation_ignoresOrderAndDuplicates(
      @ForAll("allowanceLists") List<Allowance> allowances, @ForAll long seed) {
    List<Allowance> shuffled = new ArrayList<>(allowances);
    shuffled.addAll(allowances.subList(0, allowances.size() / 2));
    Collections.shuffle(shuffled, new Random(seed));

    assertEquals(
        new EgressPolicy(allowances, DnsRule.none(), false),
        new EgressPolicy(shuffled, DnsRule.none(), false));
  }

  @Property
  void normalisedAllowances_areSorted_andNeverOverlapOrTouch(
      @ForAll("allowanceLists") List<Allowance> allowances) {
    List<Allowance> normalised = new EgressPolicy(allowances, DnsRule.none(), false).allowances();

    for (int i = 1; i < normalised.size(); i++) {
      Allowance previous = normalised.get(i - 1);
      Allowance current = normalised.get(i);
      assertTrue(previous.compareTo(current) < 0, previous + " before " + current);
      if (previous.destination().equals(current.destination())
          && previous.protocol() == current.protocol()) {
        assertTrue(
            previous.ports().last() + 1 < current.ports().first(),
            previous + " and " + current + " should have been merged");
      }
    }
  }

  @Property
  void normalisation_keepsExactlyThePortsOfEachDestinationAndProtocol(
      @ForAll("allowanceLists") List<Allowance> allowances, @ForAll("ports") int port) {
    List<Allowance> normalised = new EgressPolicy(allowances, DnsRule.none(), false).allowances();
    for (Allowance allowance : allowances) {
      boolean before =
          allowances.stream()
              .anyMatch(
                  a ->
                      a.destination().equals(allowance.destination())
                          && a.protocol() == allowance.protocol()
                          && a.ports().contains(port));
      boolean after =
          normalised.stream()
              .anyMatch(
                  a ->
                      a.destination().equals(allowance.destination())
                          && a.protocol() == allowance.protocol()
                          && a.ports().contains(port));
      assertEquals(before, after, allowance + " port " + port);
    }
  }

  @Provide
  Arbitrary<Integer> ports() {
    return EgressArbitraries.ports();
  }

  @Property
  void portRanges_roundTripThroughTheirText(@ForAll("portRanges") PortRange range) {
    assertEquals(range, PortRange.parse(range.toString()));
    assertFalse(range.size() < 1);
  }

  @Provide
  Arbitrary<PortRange> portRanges() {
    return EgressArbitraries.portRanges();
  }
}
