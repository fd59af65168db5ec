package dev.egress.pf.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.render.LoadGrammar.Load;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpNetwork;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.testkit.EgressArbitraries;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.jspecify.annotations.Nullable;

/**
 * Every text egress-pf loads, as {@link Pfctl} sends it, passes {@link LoadGrammar} for a scope
 * that holds the container's addresses and the guard; no strict prefix of it passes; and a scope
 * that lacks one of the container's addresses refuses the container's load.
 */
class LoadGrammarProperties {
  /** A container's rules, and a parent with a random guard (or none), as egress-pf renders them. */
  record Case(Child rules, ParentAnchor parent) {
    /** The container's addresses and the guard's subnets and bridge. */
    LoadScope scope() {
      List<IpNetwork> networks = new ArrayList<>();
      rules.container().addresses().forEach(a -> networks.add(IpNetwork.host(a)));
      List<String> bridges = new ArrayList<>();
      ManagedNetwork guard = parent.guard();
      if (guard != null) {
        networks.addAll(guard.subnets());
        if (guard.bridgeInterface() != null) {
          bridges.add(guard.bridgeInterface());
        }
      }
      return new LoadScope(networks, bridges);
    }
  }

  @Provide
  Arbitrary<Case> cases() {
    Arbitrary<EgressPolicy> policies =
        EgressArbitraries.policies().filter(policy -> !policy.requiresDnsFiltering());
    Arbitrary<Child> rules =
        Combinators.combine(
                EgressArbitraries.containerEndpoints(), policies, EgressArbitraries.resolutions())
            .as(Fixtures::rules);
    Arbitrary<@Nullable ManagedNetwork> guards =
        Combinators.combine(
                EgressArbitraries.networks().list().ofMinSize(1).ofMaxSize(2),
                Arbitraries.of("bridge100", "bridge101", "vmenet0").injectNull(0.5))
            .as(ManagedNetwork::new)
            .injectNull(0.3);
    return Combinators.combine(rules, guards, Arbitraries.of(true, false))
        .as(
            (r, guard, log) ->
                new Case(
                    r,
                    guard == null
                        ? ParentAnchor.defaults()
                        : ParentAnchor.defaults().guarding(guard, log)));
  }

  /**
   * What {@link Pfctl} sends for the parent, the container's anchor and each of its tables, with
   * the load each one is.
   */
  static List<Sent> sentLoads(Case example) throws Exception {
    List<Sent> sent = new ArrayList<>();
    Pfctl pfctl =
        new Pfctl(
            command -> {
              sent.add(new Sent(loadOf(command), command.stdin()));
              return new ProcessResult(0, "", "");
            },
            List.of("pfctl"),
            Duration.ofSeconds(1));
    ParentAnchor parent = example.parent();
    pfctl.loadAnchor(parent.path(), PfRenderer.renderParent(parent));
    ChildRuleset child = example.rules().render();
    pfctl.loadAnchor(parent.childPath(child.anchorName()), child.text());
    for (PfTable table : child.tables()) {
      pfctl.replaceTable(parent.childPath(child.anchorName()), table.name(), table.entries());
    }
    return sent;
  }

  record Sent(Load load, String text) {}

  private static Load loadOf(Command command) {
    List<String> args = command.argv().subList(1, command.argv().size());
    if (args.contains("-T")) {
      return Load.TABLE;
    }
    return args.get(1).equals(ParentAnchor.DEFAULT_PATH.value()) ? Load.PARENT : Load.CHILD;
  }

  @Property(tries = 500)
  void everyLoadEgressPfSends_passesTheGrammar(@ForAll("cases") Case example) throws Exception {
    List<Sent> sent = sentLoads(example);
    assertEquals(2 + example.rules().render().tables().size(), sent.size());
    for (Sent load : sent) {
      LoadGrammar.check(load.load(), load.text(), example.scope());
    }
  }

  @Property(tries = 100)
  void noStrictPrefixOfALoad_passesTheGrammar(@ForAll("cases") Case example) throws Exception {
    for (Sent load : sentLoads(example)) {
      String text = load.text();
      for (int cut = 0; cut < text.length(); cut++) {
        String prefix = text.substring(0, cut);
        assertThrows(
            IllegalArgumentException.class,
            () -> LoadGrammar.check(load.load(), prefix, example.scope()),
            prefix);
      }
    }
  }

  @Property(tries = 300)
  void aScopeWithoutOneOfTheContainersAddresses_refusesItsLoad(
      @ForAll("cases") Case example, @ForAll("indexes") int which) throws Exception {
    List<InetAddress> addresses = example.rules().container().addresses();
    InetAddress left = addresses.get(which % addresses.size());
    List<IpNetwork> networks = new ArrayList<>();
    example.scope().networks().stream().filter(n -> !n.contains(left)).forEach(networks::add);
    networks.add(
        IpNetwork.parse(left.getAddress().length == 4 ? "203.0.113.0/24" : "2001:db8::/32"));
    networks.removeIf(n -> n.contains(left));
    if (networks.isEmpty()) {
      return;
    }
    LoadScope narrower = new LoadScope(networks, example.scope().bridges());
    Sent child =
        sentLoads(example).stream().filter(s -> s.load() == Load.CHILD).findFirst().orElseThrow();

    IllegalArgumentException refused =
        assertThrows(
            IllegalArgumentException.class,
            () -> LoadGrammar.check(Load.CHILD, child.text(), narrower));
    assertTrue(refused.getMessage().contains("which is outside"), refused.getMessage());
  }

  @Provide
  Arbitrary<Integer> indexes() {
    return Arbitraries.integers().between(0, 7);
  }
}
