package dev.egress.pf.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.policy.Destination;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.pf.PfEvaluator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Text a user controls (container ids, host names, rule-set names, interface names, anchor paths)
 * either is rejected before rendering or cannot change the rendered ruleset's structure: one
 * statement per line, each of a shape {@link LoadGrammar} allows (so no quotes, comments or
 * continuations), balanced braces, names within pf's limits, and no rule beyond those the policy
 * calls for.
 */
class HostileTextProperties {
  /** The container's addresses and the parent's guarded network, as the sudo wrapper has them. */
  private static final LoadScope SCOPE =
      new LoadScope(
          List.of(
              IpNetwork.parse("192.168.64.3"),
              IpNetwork.parse("fd00::3"),
              IpNetwork.parse("192.168.70.0/24"),
              IpNetwork.parse("fd00:70::/64")),
          List.of());

  /** Printable ASCII heavy on pf's and the shell's special characters. */
  @Provide
  Arbitrary<String> hostileIds() {
    return Arbitraries.strings()
        .withChars("\"'{}<>!#\\/*;$`|&,=:-_.aZ09 \t")
        .withCharRange('!', '~')
        .ofMinLength(1)
        .ofMaxLength(200);
  }

  @Provide
  Arbitrary<String> anyText() {
    return Arbitraries.oneOf(
        hostileIds(),
        Arbitraries.strings().all().ofMaxLength(80),
        Arbitraries.strings()
            .withCharRange('a', 'z')
            .withChars(".-*")
            .ofMinLength(1)
            .ofMaxLength(40),
        Arbitraries.strings()
            .withCharRange('\u00e0', '\u00ff')
            .withChars(".")
            .ofMinLength(1)
            .ofMaxLength(20),
        Arbitraries.of(
            "_x", "a\nblock in all", "x\" }", "com.apple/*", "a/../b", "bridge100\n", "en0 all"));
  }

  @Property(tries = 500)
  void childName_isAlwaysASafeDistinctComponent(
      @ForAll("hostileIds") String hostileId, @ForAll("hostileIds") String hostileOther) {
    String id = hostileId.replaceAll("[^!-~]", "x");
    String other = hostileOther.replaceAll("[^!-~]", "x");
    ParentAnchor parent = ParentAnchor.defaults();
    AnchorName name = parent.childName(ContainerId.of(id));
    assertEquals(name, new AnchorName(name.value()));
    assertTrue(parent.childPath(name).value().length() <= AnchorPath.MAX_LENGTH, name.value());
    assertEquals(name, parent.childName(ContainerId.of(id)), "deterministic");
    if (!id.equals(other)) {
      assertNotEquals(name, parent.childName(ContainerId.of(other)), id + " vs " + other);
    }
  }

  @Property(tries = 300)
  void renderedChild_hasOnlyExpectedLines_whateverTheIdAndNames(
      @ForAll("hostileIds") String id, @ForAll("anyText") String nameText) throws Exception {
    String printableId = id.replaceAll("[^!-~]", "x");
    ContainerEndpoint container =
        new ContainerEndpoint(
            ContainerId.of(printableId),
            List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00::3")),
            IpAddresses.parse("192.168.64.1"));
    EgressPolicy.Builder builder = EgressPolicy.builder().logDenied(true);
    Optional<HostName> name = hostName(nameText);
    name.ifPresent(
        n -> builder.allow(new Destination.Host(n), Protocol.TCP, new PortRange(440, 450)));
    builder.allowTcp(Destination.gateway(), 3001);
    builder.allow(Destination.network("10.0.0.0/8"), Protocol.UDP, PortRange.all());
    EgressPolicy policy = builder.build();
    Resolutions resolutions =
        name.map(
                n ->
                    new Resolutions(
                        Map.of(
                            n,
                            Set.of(IpAddresses.parse("10.1.1.1"), IpAddresses.parse("fd00::9")))))
            .orElse(Resolutions.none());
    Child rules =
        new Child(
            ParentAnchor.defaults().childName(container.id()), container, policy, resolutions);
    if (policy.requiresDnsFiltering()) {
      return; // refused before rendering; PfRendererTest covers the refusal
    }
    ChildRuleset child = rules.render();
    String text = child.text();
    assertTrue(text.endsWith("\n"));
    int rulesPerAddress = 0;
    LoadGrammar.check(LoadGrammar.Load.CHILD, text + Pfctl.END_OF_LOAD + "\n", SCOPE);
    for (String line : text.substring(0, text.length() - 1).split("\n", -1)) {
      assertTrue(
          line.chars().filter(c -> c == '{').count() == line.chars().filter(c -> c == '}').count(),
          line);
      if (line.contains(" from 192.168.64.3 ")) {
        rulesPerAddress++;
      }
    }
    // DNS tcp+udp, the udp range on either side of 53 (two rules), the gateway, the name's table,
    // the final block.
    assertEquals(name.isPresent() ? 7 : 6, rulesPerAddress, text);
    for (PfTable table : child.tables()) {
      assertTrue(table.name().value().length() <= 31);
    }
    PfEvaluator.of("anchor \"*\"\n", Map.of(child.anchorName().value(), text)); // parses as pf
  }

  @Property(tries = 300)
  void unsafeRuleSetName_isRejectedBeforeRendering(@ForAll("anyText") String name) {
    Child base = Fixtures.denyAll();
    try {
      Child rules =
          new Child(
              new AnchorName(name),
              base.container(),
              base.policy(),
              base.resolutions(),
              base.dnsFilter());
      ChildRuleset child = rules.render();
      assertEquals(name, child.anchorName().value());
    } catch (IllegalArgumentException expected) {
      assertTrue(
          expected.getMessage().contains("not a safe pf anchor name"), expected.getMessage());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Property(tries = 300)
  void renderedParent_hasOnlyExpectedLines_orTheInputIsRejected(
      @ForAll("anyText") String path, @ForAll("anyText") String bridge) {
    ParentAnchor parent;
    try {
      ManagedNetwork network =
          new ManagedNetwork(
              List.of(IpNetwork.parse("192.168.70.0/24"), IpNetwork.parse("fd00:70::/64")), bridge);
      parent = new ParentAnchor(AnchorPath.of(path), network, true);
    } catch (IllegalArgumentException rejected) {
      return;
    }
    String text = PfRenderer.renderParent(parent);
    LoadGrammar.check(
        LoadGrammar.Load.PARENT,
        text + Pfctl.END_OF_LOAD + "\n",
        new LoadScope(SCOPE.networks(), List.of(bridge)));
    assertEquals(4, text.split("\n").length, text);
    assertTrue(parent.path().value().length() <= ParentAnchor.MAX_PATH_LENGTH);
    PfEvaluator.of(text, Map.of());
  }

  private static Optional<HostName> hostName(String text) {
    try {
      return Optional.of(HostName.of(text));
    } catch (IllegalArgumentException rejected) {
      return Optional.empty();
    }
  }
}
