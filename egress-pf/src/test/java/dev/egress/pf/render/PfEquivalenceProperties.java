package dev.egress.pf.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.Allowance;
import dev.egress.policy.DnsRule;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.testkit.pf.PfDecision;
import dev.egress.testkit.pf.PfEvaluator;
import dev.egress.testkit.pf.PfPacket;
import dev.egress.testkit.pf.PfPacket.Direction;
import dev.egress.testkit.pf.PfPacket.IpProtocol;
import dev.egress.testkit.pf.PfVerdict;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.jspecify.annotations.Nullable;

/**
 * The rendered parent and children, evaluated as pf would, decide every packet exactly as {@link
 * dev.egress.policy.EgressPolicy#permits} does for the container that sent it; packets from
 * addresses no container has are blocked by the guard when it covers them, and passed (pf's
 * default) otherwise.
 */
class PfEquivalenceProperties {
  private static final List<String> INTERFACES =
      List.of(Scenarios.BRIDGE, "bridge101", "lo0", "en0");

  @Provide
  Arbitrary<Scenarios.Scenario> scenarios() {
    return Scenarios.scenarios();
  }

  @Property(tries = 200)
  void everyPacketsVerdict_equalsThePolicyDecision(@ForAll("scenarios") Scenarios.Scenario scenario)
      throws Exception {
    Map<String, String> children = new LinkedHashMap<>();
    for (Child rules : scenario.containers()) {
      children.put(rules.name().value(), rules.render().text());
    }
    PfEvaluator pf = PfEvaluator.of(PfRenderer.renderParent(scenario.parent()), children);
    for (PfPacket packet : packets(scenario)) {
      PfVerdict expected = expected(scenario, packet);
      PfDecision actual = pf.evaluate(packet);
      PfPacket seen = pf.translate(packet);
      if (!seen.equals(packet)) {
        // rdr never sends a packet anywhere but to its own container's filter, port 53.
        Child owner = ownerOf(scenario, packet.source());
        assertTrue(owner != null && owner.plan().dnsFilter() != null, packet::toString);
        assertEquals(53, packet.destinationPort(), packet::toString);
        assertEquals(owner.plan().dnsFilter(), seen.destination(), packet::toString);
        assertEquals(53, seen.destinationPort(), packet::toString);
      }
      assertEquals(
          expected,
          actual.verdict(),
          () ->
              packet
                  + " was decided "
                  + actual
                  + "\n"
                  + scenario
                  + "\nparent:\n"
                  + PfRenderer.renderParent(scenario.parent())
                  + "children:\n"
                  + children);
    }
  }

  @Property(tries = 100)
  void afterATableRefresh_verdictsFollowTheNewResolutions(
      @ForAll("scenarios") Scenarios.Scenario before,
      @ForAll("scenarios") Scenarios.Scenario answers)
      throws Exception {
    // Same containers and policies; names now resolve as in another scenario. Only tables change.
    Map<String, String> children = new LinkedHashMap<>();
    List<Child> refreshed = new ArrayList<>();
    for (int i = 0; i < before.containers().size(); i++) {
      Child old = before.containers().get(i);
      children.put(old.name().value(), old.render().text());
      Child fresh =
          new Child(
              old.name(),
              old.container(),
              old.policy(),
              answers.containers().get(i % answers.containers().size()).resolutions(),
              old.dnsFilter());
      refreshed.add(fresh);
    }
    PfEvaluator pf = PfEvaluator.of(PfRenderer.renderParent(before.parent()), children);
    for (Child fresh : refreshed) {
      ChildRuleset child = fresh.render();
      // Every name whose set the rules use, wildcards (whose sets hold grants) included.
      for (PfTable table : child.tablesHolding(new TreeSet<>(fresh.plan().names()))) {
        pf = pf.withTableReplaced(fresh.name().value(), table.name().value(), table.contents());
      }
    }
    Scenarios.Scenario after = new Scenarios.Scenario(refreshed, before.guard());
    for (PfPacket packet : packets(after)) {
      assertEquals(expected(after, packet), pf.verdict(packet), packet::toString);
    }
  }

  /** The first and last address of {@code network}, and the addresses just outside it. */
  static List<InetAddress> edges(IpNetwork network) {
    byte[] first = network.address().getAddress();
    byte[] last = first.clone();
    int hostBits = last.length * 8 - network.prefixLength();
    for (int bit = 0; bit < hostBits; bit++) {
      last[last.length - 1 - bit / 8] |= (byte) (1 << (bit % 8));
    }
    return List.of(
        IpAddresses.fromBytes(step(first, -1)),
        IpAddresses.fromBytes(first),
        IpAddresses.fromBytes(last),
        IpAddresses.fromBytes(step(last, +1)));
  }

  private static byte[] step(byte[] address, int delta) {
    java.math.BigInteger value =
        new java.math.BigInteger(1, address).add(java.math.BigInteger.valueOf(delta));
    byte[] raw = value.toByteArray();
    byte[] result = new byte[address.length];
    for (int i = 0; i < result.length && i < raw.length; i++) {
      result[result.length - 1 - i] = raw[raw.length - 1 - i];
    }
    return result;
  }

  private static @Nullable Child ownerOf(Scenarios.Scenario scenario, InetAddress source) {
    for (Child rules : scenario.containers()) {
      if (rules.container().addresses().contains(source)) {
        return rules;
      }
    }
    return null;
  }

  /**
   * The decision the policies and the guard call for. Under {@code dns filter}, port 53 to any
   * address of the filter's family is redirected to the filter: the policy decides the flow to the
   * filter.
   */
  static PfVerdict expected(Scenarios.Scenario scenario, PfPacket packet) {
    if (packet.direction() == Direction.OUT) {
      return PfVerdict.PASS;
    }
    Child rules = ownerOf(scenario, packet.source());
    if (rules != null) {
      if (!packet.protocol().hasPorts()) {
        return PfVerdict.BLOCK;
      }
      Protocol protocol = packet.protocol() == IpProtocol.TCP ? Protocol.TCP : Protocol.UDP;
      InetAddress filter = rules.plan().dnsFilter();
      InetAddress destination = packet.destination();
      if (filter != null
          && packet.destinationPort() == PortRange.DNS_PORT
          && IpAddresses.isIpv6(filter) == packet.isIpv6()) {
        destination = filter;
      }
      Flow flow = new Flow(protocol, destination, packet.destinationPort());
      return rules
              .policy()
              .permits(flow, rules.container().gateway(), rules.dnsFilter(), rules.resolutions())
          ? PfVerdict.PASS
          : PfVerdict.BLOCK;
    }
    ManagedNetwork guard = scenario.guard();
    if (guard != null) {
      boolean fromSubnet = guard.subnets().stream().anyMatch(s -> s.contains(packet.source()));
      if (fromSubnet && !packet.interfaceName().equals("lo0")) {
        return PfVerdict.BLOCK;
      }
      if (packet.interfaceName().equals(guard.bridgeInterface())) {
        return PfVerdict.BLOCK;
      }
    }
    return PfVerdict.PASS;
  }

  /**
   * Every combination of: each container address, an unattached address in the subnet and one
   * outside it; every pool address, gateway and resolver; TCP, UDP and ICMP; every port at and next
   * to the edges of the policies' ranges, and 53. Interfaces and directions rotate through the
   * combinations.
   */
  static List<PfPacket> packets(Scenarios.Scenario scenario) {
    Set<InetAddress> sources = new java.util.LinkedHashSet<>();
    Set<InetAddress> destinations = new java.util.LinkedHashSet<>(Scenarios.ADDRESSES);
    Set<Integer> ports = new TreeSet<>(List.of(1, 52, 53, 54, 65535));
    for (Child rules : scenario.containers()) {
      sources.addAll(rules.container().addresses());
      if (rules.container().gateway() != null) {
        destinations.add(rules.container().gateway());
      }
      if (rules.policy().dns() instanceof DnsRule.Servers servers) {
        destinations.addAll(servers.addresses());
      }
      if (rules.dnsFilter() != null) {
        destinations.add(rules.dnsFilter());
      }
      for (Allowance allowance : rules.policy().allowances()) {
        PortRange range = allowance.ports();
        for (int port :
            new int[] {range.first() - 1, range.first(), range.last(), range.last() + 1}) {
          if (port >= 1 && port <= 65535) {
            ports.add(port);
          }
        }
      }
    }
    sources.addAll(
        List.of(
            IpAddresses.parse("192.168.64.99"), IpAddresses.parse("fd00:64::99"),
            IpAddresses.parse("fe80::99"), IpAddresses.parse("172.16.0.9")));
    for (IpNetwork network : Scenarios.NETWORKS) {
      destinations.addAll(edges(network));
    }
    List<PfPacket> packets = new ArrayList<>();
    int turn = 0;
    for (InetAddress source : sources) {
      for (InetAddress destination : destinations) {
        if (IpAddresses.isIpv6(source) != IpAddresses.isIpv6(destination)) {
          continue;
        }
        for (IpProtocol protocol : IpProtocol.values()) {
          boolean ipv6 = IpAddresses.isIpv6(source);
          if (protocol == (ipv6 ? IpProtocol.ICMP : IpProtocol.ICMP6)) {
            continue;
          }
          for (int port : protocol.hasPorts() ? ports : Set.of(0)) {
            turn++;
            String interfaceName =
                turn % 7 == 0 ? INTERFACES.get((turn / 7) % INTERFACES.size()) : Scenarios.BRIDGE;
            Direction direction = turn % 13 == 0 ? Direction.OUT : Direction.IN;
            packets.add(
                new PfPacket(direction, interfaceName, protocol, source, destination, port));
          }
        }
      }
    }
    return packets;
  }
}
