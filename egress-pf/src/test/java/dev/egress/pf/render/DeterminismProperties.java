package dev.egress.pf.render;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.policy.Allowance;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Equal inputs, however their collections were ordered, render byte-identical text and tables. */
class DeterminismProperties {

  @Provide
  Arbitrary<Scenarios.Scenario> scenarios() {
    return Scenarios.scenarios();
  }

  @Property(tries = 300)
  void rendering_doesNotDependOnTheOrderOfItsInputs(
      @ForAll("scenarios") Scenarios.Scenario scenario, @ForAll long seed) throws Exception {
    Random random = new Random(seed);
    for (Child rules : scenario.containers()) {
      Child shuffled = shuffled(rules, random);
      ChildRuleset expected = rules.render();
      ChildRuleset actual = shuffled.render();
      assertEquals(expected.text(), actual.text());
      assertEquals(expected.tables(), actual.tables());
    }
    assertEquals(
        PfRenderer.renderParent(scenario.parent()), PfRenderer.renderParent(scenario.parent()));
  }

  private static Child shuffled(Child rules, Random random) {
    List<Allowance> allowances = new ArrayList<>(rules.policy().allowances());
    Collections.shuffle(allowances, random);
    EgressPolicy policy =
        new EgressPolicy(allowances, rules.policy().dns(), rules.policy().logDenied());
    List<InetAddress> addresses = new ArrayList<>(rules.container().addresses());
    Collections.shuffle(addresses, random);
    ContainerEndpoint container =
        new ContainerEndpoint(rules.container().id(), addresses, rules.container().gateway());
    List<Map.Entry<HostName, Set<InetAddress>>> entries =
        new ArrayList<>(rules.resolutions().addresses().entrySet());
    Collections.shuffle(entries, random);
    Map<HostName, Set<InetAddress>> map = new LinkedHashMap<>();
    for (Map.Entry<HostName, Set<InetAddress>> entry : entries) {
      List<InetAddress> set = new ArrayList<>(entry.getValue());
      Collections.shuffle(set, random);
      map.put(entry.getKey(), new LinkedHashSet<>(set));
    }
    return new Child(rules.name(), container, policy, new Resolutions(map), rules.dnsFilter());
  }
}
