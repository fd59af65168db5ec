package dev.egress.pf.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.testkit.pf.PfEvaluator;
import dev.egress.testkit.pf.PfPacket;
import dev.egress.testkit.pf.PfPacket.Direction;
import dev.egress.testkit.pf.PfPacket.IpProtocol;
import dev.egress.testkit.pf.PfVerdict;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The passes issue 12 added (neighbour discovery in the children and on the bridge, and the host's
 * own connections out on the bridge) change nothing but what they are for. Each scenario is
 * evaluated twice, as rendered and with those lines removed: every verdict on a packet that is not
 * ICMPv6 is the same, nothing blocked before passes now unless it is a neighbour solicitation,
 * advertisement or router solicitation arriving on the link to a link-scope destination or the
 * sender's own /64, and no packet passed before is blocked now.
 */
class LinkPassesProperties {
  private static final List<Integer> TYPES = List.of(1, 128, 129, 133, 134, 135, 136, 137, 143);
  private static final List<IpNetwork> LINK_SCOPE =
      List.of(
          IpNetwork.parse("fe80::/10"),
          IpNetwork.parse("ff02::1"),
          IpNetwork.parse("ff02::2"),
          IpNetwork.parse("ff02::1:ff00:0/104"));

  @Provide
  Arbitrary<Scenarios.Scenario> scenarios() {
    return Scenarios.scenarios();
  }

  @Property(tries = 200)
  void linkPasses_openNothingButNeighbourDiscoveryOnTheLink(
      @ForAll("scenarios") Scenarios.Scenario scenario) throws Exception {
    Map<String, String> children = new LinkedHashMap<>();
    Map<String, String> stripped = new LinkedHashMap<>();
    for (Child rules : scenario.containers()) {
      String text = rules.render().text();
      children.put(rules.name().value(), text);
      stripped.put(rules.name().value(), withoutLinkPasses(text));
    }
    String parent = PfRenderer.renderParent(scenario.parent());
    PfEvaluator with = bridgeAddresses(PfEvaluator.of(parent, children));
    PfEvaluator without = bridgeAddresses(PfEvaluator.of(withoutLinkPasses(parent), stripped));

    List<PfPacket> packets = new ArrayList<>(PfEquivalenceProperties.packets(scenario));
    packets.addAll(icmp6Packets(scenario));
    for (PfPacket packet : packets) {
      PfVerdict now = with.verdict(packet);
      PfVerdict before = without.verdict(packet);
      if (packet.protocol() != IpProtocol.ICMP6) {
        assertEquals(before, now, packet::toString);
      } else if (now != before) {
        assertEquals(PfVerdict.PASS, now, () -> packet + " is blocked only by the new lines");
        assertTrue(isNeighbourDiscoveryOnTheLink(packet), () -> packet + " passes now");
      }
    }
  }

  @Property(tries = 100)
  void hostConnections_areAnswered_andTheContainerStillOpensNothing(
      @ForAll("scenarios") Scenarios.Scenario scenario) throws Exception {
    Map<String, String> children = new LinkedHashMap<>();
    for (Child rules : scenario.containers()) {
      children.put(rules.name().value(), rules.render().text());
    }
    PfEvaluator pf =
        bridgeAddresses(PfEvaluator.of(PfRenderer.renderParent(scenario.parent()), children));
    ManagedNetwork guard = scenario.guard();
    boolean bridgeNamed = guard != null && guard.bridgeInterface() != null;
    for (Child rules : scenario.containers()) {
      for (InetAddress container : rules.container().addresses()) {
        InetAddress host =
            IpAddresses.isIpv6(container) ? Scenarios.GATEWAY_V6 : Scenarios.GATEWAY_V4;
        boolean inSubnet =
            bridgeNamed && guard.subnets().stream().anyMatch(s -> s.contains(container));
        for (IpProtocol protocol : List.of(IpProtocol.TCP, IpProtocol.UDP)) {
          PfPacket hostOpens =
              new PfPacket(Direction.OUT, Scenarios.BRIDGE, protocol, host, container, 8080);
          PfVerdict answer = pf.evaluateReply(hostOpens, 49152).verdict();
          PfVerdict unsolicited = pf.verdict(hostOpens.reply(49152));
          if (inSubnet) {
            assertEquals(PfVerdict.PASS, answer, hostOpens::toString);
          } else {
            // No stateful pass for it: the answer is a packet like any other.
            assertEquals(unsolicited, answer, hostOpens::toString);
          }
          // Without the host's packet first, the same packet from the container is judged by its
          // policy alone (the expectation PfEquivalenceProperties checks everywhere).
          assertEquals(
              PfEquivalenceProperties.expected(scenario, hostOpens.reply(49152)),
              unsolicited,
              () -> hostOpens.reply(49152).toString());
        }
        // From any other address, the host's connection creates no state of ours.
        PfPacket forwarded =
            new PfPacket(
                Direction.OUT,
                Scenarios.BRIDGE,
                IpProtocol.TCP,
                IpAddresses.isIpv6(container)
                    ? IpAddresses.parse("2001:db8::9")
                    : IpAddresses.parse("203.0.113.9"),
                container,
                8080);
        assertEquals(
            pf.verdict(forwarded.reply(49152)),
            pf.evaluateReply(forwarded, 49152).verdict(),
            forwarded::toString);
      }
    }
  }

  private static PfEvaluator bridgeAddresses(PfEvaluator pf) {
    return pf.withInterfaceAddresses(
        Scenarios.BRIDGE,
        List.of(Scenarios.GATEWAY_V4, Scenarios.GATEWAY_V6, IpAddresses.parse("fe80::1")));
  }

  private static String withoutLinkPasses(String text) {
    return text.lines()
            .filter(line -> !line.contains(" icmp6-type ") && !line.startsWith("pass out "))
            .collect(Collectors.joining("\n"))
        + "\n";
  }

  private static boolean isNeighbourDiscoveryOnTheLink(PfPacket packet) {
    if (packet.direction() != Direction.IN || !Set.of(133, 135, 136).contains(packet.icmp6Type())) {
      return false;
    }
    if (LINK_SCOPE.stream().anyMatch(n -> n.contains(packet.destination()))) {
      return true;
    }
    byte[] source = packet.source().getAddress();
    byte[] destination = packet.destination().getAddress();
    for (int i = 0; i < 8; i++) {
      if (source[i] != destination[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * ICMPv6 of every type the rules name and some they do not, from each container address, the
   * unspecified address, a link-local and a subnet address no container has, to link-scope groups,
   * the gateway, a neighbour, an address outside the subnet and a global one; on the bridge and
   * elsewhere, in and out.
   */
  private static List<PfPacket> icmp6Packets(Scenarios.Scenario scenario) {
    Set<InetAddress> sources = new LinkedHashSet<>();
    for (Child rules : scenario.containers()) {
      rules.container().addresses().stream().filter(IpAddresses::isIpv6).forEach(sources::add);
    }
    sources.addAll(
        List.of(
            IpAddresses.parse("::"),
            IpAddresses.parse("fe80::99"),
            IpAddresses.parse("fd00:64::99"),
            IpAddresses.parse("2001:db8::99")));
    List<InetAddress> destinations =
        List.of(
            IpAddresses.parse("ff02::1"),
            IpAddresses.parse("ff02::2"),
            IpAddresses.parse("ff02::16"),
            IpAddresses.parse("ff02::fb"),
            IpAddresses.parse("ff02::1:ff00:3"),
            IpAddresses.parse("ff05::1:ff00:3"),
            IpAddresses.parse("fe80::1"),
            Scenarios.GATEWAY_V6,
            IpAddresses.parse("fd00:64::ffff:ffff:ffff:ffff"),
            IpAddresses.parse("fd00:64:0:1::1"),
            IpAddresses.parse("2001:4860:4860::8888"));
    List<PfPacket> packets = new ArrayList<>();
    int turn = 0;
    for (InetAddress source : sources) {
      for (InetAddress destination : destinations) {
        for (int type : TYPES) {
          turn++;
          String interfaceName = turn % 5 == 0 ? "en0" : Scenarios.BRIDGE;
          Direction direction = turn % 7 == 0 ? Direction.OUT : Direction.IN;
          packets.add(
              new PfPacket(
                  direction, interfaceName, IpProtocol.ICMP6, source, destination, 0, type));
        }
      }
    }
    return packets;
  }
}
