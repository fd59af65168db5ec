package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.EgressArbitraries;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Invariants of the renderer over generated policies, resolutions and hostile container ids. */
class NftRendererProperties {
  private static final NftRenderer RENDERER = new NftRenderer("egress");
  private static final Pattern LINE =
      Pattern.compile(
          "(add|flush|delete) (chain|set|rule|element) inet egress [A-Za-z0-9_]+( .*)?");
  private static final Pattern PORTS = Pattern.compile("(tcp|udp) dport (\\{ [^}]* \\}|\\S+)");

  @Provide
  Arbitrary<String> hostileIds() {
    return Arbitraries.strings()
        .withCharRange((char) 0x21, (char) 0x7e)
        .ofMinLength(1)
        .ofMaxLength(200);
  }

  private static Rules rules(
      String id, ContainerEndpoint endpoint, EgressPolicy policy, Resolutions resolutions) {
    ContainerEndpoint withId =
        new ContainerEndpoint(ContainerId.of(id), endpoint.addresses(), endpoint.gateway());
    return new Rules(ChainName.forContainer(withId.id()), withId, policy, resolutions);
  }

  @Property(tries = 300)
  void ruleSetName_isASafeIdentifier_forAnyId(@ForAll("hostileIds") String id) {
    String name = ChainName.forContainer(ContainerId.of(id)).value();
    assertTrue(ChainName.parse(name).isPresent(), name);
    assertTrue(name.matches("[A-Za-z0-9_]{1,35}"), name);
    assertEquals(name, ChainName.forContainer(ContainerId.of(id)).value());
  }

  @Property(tries = 200)
  void hostileIds_cannotChangeTheScriptsStructure(
      @ForAll("hostileIds") String id,
      @ForAll("endpoints") ContainerEndpoint endpoint,
      @ForAll("policies") EgressPolicy policy,
      @ForAll("resolutions") Resolutions resolutions) {
    Rules hostile = rules(id, endpoint, policy, resolutions);
    Rules plain = rules("plain", endpoint, policy, resolutions);
    String script = RENDERER.install(hostile.chain(), hostile.plan());
    // Same lines as for a harmless id once the generated name is swapped back.
    assertEquals(
        RENDERER.install(plain.chain(), plain.plan()).replace(plain.name().value(), "NAME"),
        script.replace(hostile.name().value(), "NAME"));
    for (String line : script.split("\n")) {
      assertTrue(LINE.matcher(line).matches(), line);
    }
  }

  @Property(tries = 200)
  void rendering_isDeterministic_andIndependentOfTheOrderAllowancesWereGiven(
      @ForAll("endpoints") ContainerEndpoint endpoint,
      @ForAll("policies") EgressPolicy policy,
      @ForAll("resolutions") Resolutions resolutions) {
    List<dev.egress.policy.Allowance> shuffled = new ArrayList<>(policy.allowances());
    Collections.reverse(shuffled);
    EgressPolicy same = new EgressPolicy(shuffled, policy.dns(), policy.logDenied());
    assertEquals(
        rules("c", endpoint, policy, resolutions).install(RENDERER),
        rules("c", endpoint, same, resolutions).install(RENDERER));
  }

  @Property(tries = 300)
  void onlyTheDnsRuleOpensPort53_andOnlyTowardsTheResolvers(
      @ForAll("endpoints") ContainerEndpoint endpoint,
      @ForAll("policies") EgressPolicy policy,
      @ForAll("resolutions") Resolutions resolutions) {
    for (String rule : rules("c", endpoint, policy, resolutions).chainRules()) {
      if (rule.contains("th dport 53 ")) {
        // Accepted towards the resolvers; the logged refusal of the rest refuses, opens nothing.
        assertTrue(
            rule.matches(
                    "ip6? daddr \\S.* meta l4proto \\{ tcp, udp \\} th dport 53 counter accept")
                || rule.matches(
                    "meta l4proto \\{ tcp, udp \\} th dport 53 (limit rate \\S+ burst \\d+ packets"
                        + " log group \\d+ )?counter goto deny"),
            rule);
        continue;
      }
      Matcher ports = PORTS.matcher(rule);
      while (ports.find()) {
        for (String piece : ports.group(2).replaceAll("[{}]", "").split(",")) {
          String[] bounds = piece.strip().split("-");
          int first = Integer.parseInt(bounds[0]);
          int last = Integer.parseInt(bounds[bounds.length - 1]);
          assertTrue(53 < first || last < 53, rule);
        }
      }
    }
  }

  @Property(tries = 300)
  void everyChainEndsInDeny_andStartsWithTheEstablishedRule(
      @ForAll("endpoints") ContainerEndpoint endpoint,
      @ForAll("policies") EgressPolicy policy,
      @ForAll("resolutions") Resolutions resolutions) {
    List<String> rules = rules("c", endpoint, policy, resolutions).chainRules();
    assertEquals(NftRenderer.ESTABLISHED_RULE, rules.get(0));
    assertTrue(rules.get(rules.size() - 1).endsWith("counter goto deny"));
    // With logging, DNS to other resolvers is refused by rules of their own (their own NFLOG
    // group) just before the final ones, and each logged refusal is two rules: logged up to the
    // limit, then unlogged. Either way nothing is accepted after the first refusal.
    int refusals = policy.logDenied() ? 4 : 1;
    assertEquals(refusals, rules.stream().filter(r -> r.contains("goto deny")).count());
    assertTrue(
        rules.subList(rules.size() - refusals, rules.size()).stream()
            .allMatch(r -> r.endsWith("counter goto deny")));
  }

  @Provide
  Arbitrary<ContainerEndpoint> endpoints() {
    return EgressArbitraries.containerEndpoints();
  }

  @Provide
  Arbitrary<EgressPolicy> policies() {
    return EgressArbitraries.policies().filter(p -> !p.requiresDnsFiltering());
  }

  @Provide
  Arbitrary<Resolutions> resolutions() {
    return EgressArbitraries.resolutions();
  }
}
