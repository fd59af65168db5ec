package dev.egress.cli;

import static dev.egress.cli.WrapperRig.framed;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.render.ChildRuleset;
import dev.egress.pf.render.LoadGrammar;
import dev.egress.pf.render.LoadScope;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.pf.render.PfRenderer;
import dev.egress.pf.render.PfTable;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.Resolutions;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.EgressArbitraries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * The generated wrapper and {@link LoadGrammar} are one grammar: every load the renderer makes for
 * random policies and containers passes the wrapper unchanged when {@link Pfctl} sends it, and on
 * lines that are near misses of the renderer's (other source addresses, malformed literals) the
 * wrapper refuses exactly what {@link LoadGrammar#check} refuses.
 */
class WrapperGrammarProperties {
  private static final String CHILD = "com.apple/000.egress/agent-1";

  /** One container's anchor name and plan, as the enforcer would render them. */
  record Rules(AnchorName name, ContainerEndpoint container, EnforcementPlan plan) {}

  @Provide
  Arbitrary<Rules> containers() {
    Arbitrary<EgressPolicy> policies =
        EgressArbitraries.policies().filter(policy -> !policy.requiresDnsFiltering());
    return Combinators.combine(
            EgressArbitraries.containerEndpoints(), policies, EgressArbitraries.resolutions())
        .as(
            (ContainerEndpoint container, EgressPolicy policy, Resolutions resolutions) ->
                new Rules(
                    ParentAnchor.defaults().childName(container.id()),
                    container,
                    EnforcementPlan.of(policy, container, resolutions)));
  }

  @Property(tries = 20)
  void everyLoadTheRendererMakes_passesTheWrapperUnchanged(@ForAll("containers") Rules rules)
      throws Exception {
    List<IpNetwork> sources = rules.container().addresses().stream().map(IpNetwork::host).toList();
    Path dir = Files.createTempDirectory("wrapper-property");
    try {
      WrapperRig rig = new WrapperRig(dir, new LoadScope(sources, List.of()));
      Pfctl pfctl =
          new Pfctl(
              new SystemProcessRunner(), List.of(rig.wrapper().toString()), Duration.ofSeconds(60));
      ParentAnchor parent = ParentAnchor.defaults();
      ChildRuleset child = PfRenderer.renderChild(rules.name(), rules.plan());
      pfctl.loadAnchor(parent.childPath(child.anchorName()), child.text());
      for (PfTable table : child.tables()) {
        pfctl.replaceTable(parent.childPath(child.anchorName()), table.name(), table.entries());
      }

      assertEquals(1 + child.tables().size(), rig.calls().size(), rig.calls().toString());
      assertEquals(framed(child.text()), rig.stdinOf(1));
      for (int i = 0; i < child.tables().size(); i++) {
        assertEquals(framed(child.tables().get(i).contents()), rig.stdinOf(2 + i));
      }
    } finally {
      delete(dir);
    }
  }

  /** Lines near the renderer's: its shapes with other sources, or one character changed. */
  @Provide
  Arbitrary<String> nearMisses() {
    Arbitrary<String> sources =
        Arbitraries.oneOf(
            Arbitraries.integers().between(0, 255).map(i -> "192.168.64." + i),
            Combinators.combine(
                    Arbitraries.integers().between(0, 0xffff),
                    Arbitraries.integers().between(0, 0xffff))
                .as(
                    (a, b) ->
                        IpAddresses.format(IpAddresses.parse("fd00:64::%x:%x".formatted(a, b)))),
            EgressArbitraries.addresses().map(IpAddresses::format),
            Arbitraries.of(
                "192.168.64.3",
                "192.168.64.255",
                "192.168.65.3",
                "fd00:64::3",
                "fd00:64:0:0:ffff:ffff:ffff:ffff",
                "fd00:64:0:1::3",
                "fd00:65::3"),
            Arbitraries.strings().withChars("0123456789abcdef:./").ofMinLength(1).ofMaxLength(41));
    Arbitrary<String> shapes =
        Arbitraries.of(
            "pass in quick inet proto tcp from %s to <tcp_443> port = 443",
            "pass in quick inet6 proto udp from %s to 2001:db8::/32 port 1:52",
            "block return in log quick inet from %s to any",
            "block return in quick inet6 proto tcp from %s to any port = 53",
            "block return in quick inet6 from { %s } to any",
            "pass in quick inet6 proto icmp6 from %s to ff02::1:ff00:0/104 icmp6-type 136 no state",
            "pass in quick inet6 proto icmp6 from fd00:64::3 to %s/64 icmp6-type 135 no state",
            "rdr inet proto udp from 192.168.64.3 to any port = 53 -> %s port 53");
    Arbitrary<String> changedCharacter =
        Combinators.combine(
                Arbitraries.of(
                    "pass in quick inet proto tcp from 192.168.64.3 to <tcp_443> port = 443",
                    "table <tcp_443> persist { 160.79.104.0/23, 2607:6bc0::10 }",
                    "block return in quick inet6 from fd00:64::3 to any",
                    "pass in quick inet6 proto icmp6 from fd00:64::3 to fd00:64::/64 icmp6-type 135"
                        + " no state"),
                Arbitraries.integers().between(0, 70),
                Arbitraries.chars().with(" {}<>!#\\\"*:/.,0123456789abcdefxz-"))
            .as(
                (line, at, c) -> {
                  int i = Math.min(at, line.length() - 1);
                  return line.substring(0, i) + c + line.substring(i + 1);
                });
    return Arbitraries.oneOf(
        Combinators.combine(shapes, sources).as(String::formatted), changedCharacter);
  }

  @Property(tries = 100)
  void onNearMissLines_theWrapperAndTheJavaGrammarAgree(@ForAll("nearMisses") String line)
      throws Exception {
    String text = framed(line + "\n");
    boolean javaAccepts;
    try {
      LoadGrammar.check(LoadGrammar.Load.CHILD, text, WrapperRig.SCOPE);
      javaAccepts = true;
    } catch (IllegalArgumentException e) {
      javaAccepts = false;
    }
    Statistics.collect(javaAccepts ? "accepted" : "refused");
    Statistics.coverage(
        checker -> {
          checker.check("accepted").count((Integer n) -> n >= 5);
          checker.check("refused").count((Integer n) -> n >= 5);
        });
    Path dir = Files.createTempDirectory("wrapper-property");
    try {
      WrapperRig.Run run =
          new WrapperRig(dir, WrapperRig.SCOPE).runWithInput(text, "-a", CHILD, "-f", "-");

      assertEquals(javaAccepts ? 0 : 64, run.exit(), line + ": " + run.stderr());
    } finally {
      delete(dir);
    }
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      List<Path> all = new ArrayList<>(files.toList());
      all.sort(Comparator.reverseOrder());
      for (Path file : all) {
        Files.delete(file);
      }
    }
  }
}
