package dev.egress.testkit.pf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.testkit.pf.PfPacket.Direction;
import dev.egress.testkit.pf.PfPacket.IpProtocol;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PfEvaluatorTest {
  private static final String WILDCARD = "anchor \"*\"\n";

  private static PfPacket tcp(String source, String destination, int port) {
    return PfPacket.in(
        "bridge100",
        IpProtocol.TCP,
        IpAddresses.parse(source),
        IpAddresses.parse(destination),
        port);
  }

  private static PfVerdict parentOnly(String parent, PfPacket packet) {
    return PfEvaluator.of(parent, Map.of()).verdict(packet);
  }

  @Test
  void noMatchingRule_passes() {
    PfDecision decision =
        PfEvaluator.of(WILDCARD, Map.of()).evaluate(tcp("10.0.0.1", "10.0.0.2", 80));
    assertEquals(PfVerdict.PASS, decision.verdict());
    assertNull(decision.rule());
  }

  @Test
  void withoutQuick_theLastMatchingRuleDecides() {
    String rules = "block in all\npass in inet proto tcp from any to any port = 80\n";
    assertEquals(PfVerdict.PASS, parentOnly(rules, tcp("10.0.0.1", "10.0.0.2", 80)));
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, tcp("10.0.0.1", "10.0.0.2", 81)));
    assertEquals(
        PfVerdict.BLOCK, parentOnly(rules + "block in all\n", tcp("10.0.0.1", "10.0.0.2", 80)));
  }

  @Test
  void quick_decidesAtOnce() {
    String rules = "block in quick inet from 10.0.0.1 to any\npass in all\n";
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, tcp("10.0.0.1", "10.0.0.2", 80)));
    assertEquals(PfVerdict.PASS, parentOnly(rules, tcp("10.0.0.9", "10.0.0.2", 80)));
  }

  @Test
  void quickInAChild_endsEvaluationOfTheParentToo() {
    PfEvaluator pf =
        PfEvaluator.of(
            WILDCARD + "block in quick all\n",
            Map.of("c", "pass in quick inet proto tcp from 10.0.0.1 to any port = 443\n"));
    PfDecision passed = pf.evaluate(tcp("10.0.0.1", "10.0.0.2", 443));
    assertEquals(PfVerdict.PASS, passed.verdict());
    assertEquals("c", passed.anchor());
    assertEquals(PfVerdict.BLOCK, pf.verdict(tcp("10.0.0.1", "10.0.0.2", 444)));
  }

  @Test
  void nonQuickMatchInAChild_isOverriddenByALaterParentRule() {
    PfEvaluator pf = PfEvaluator.of(WILDCARD + "block in all\n", Map.of("c", "pass in all\n"));
    assertEquals(PfVerdict.BLOCK, pf.verdict(tcp("10.0.0.1", "10.0.0.2", 443)));
  }

  @Test
  void children_areEvaluatedInByteOrderOfTheirNames() {
    PfEvaluator pf =
        PfEvaluator.of(
            WILDCARD,
            Map.of(
                "b", "pass in quick all\n", "B", "block in quick all\n", "a-1", "block in all\n"));
    assertEquals(List.of("B", "a-1", "b"), pf.childNames());
    PfDecision decision = pf.evaluate(tcp("10.0.0.1", "10.0.0.2", 1));
    assertEquals(PfVerdict.BLOCK, decision.verdict());
    assertEquals("B", decision.anchor());
  }

  @Test
  void tables_matchTheirEntries_andNegatedTablesEverythingElse() {
    String rules =
        "table <ok> persist { 10.1.0.0/16, 10.2.0.1 }\n"
            + "pass in quick inet proto tcp from any to <ok> port = 443\n"
            + "block in quick inet proto tcp from any to ! <ok>\n";
    assertEquals(PfVerdict.PASS, parentOnly(rules, tcp("10.0.0.1", "10.1.200.3", 443)));
    assertEquals(PfVerdict.PASS, parentOnly(rules, tcp("10.0.0.1", "10.2.0.1", 443)));
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, tcp("10.0.0.1", "10.2.0.2", 443)));
    assertEquals(
        PfVerdict.PASS,
        parentOnly(rules, tcp("10.0.0.1", "10.1.0.1", 80)),
        "in the table on another port: neither rule matches");
  }

  @Test
  void negatedTableWrittenWithoutSpace_isTheSame() {
    String rules = "table <ok> { 10.1.0.0/16 }\nblock in quick inet proto tcp from any to !<ok>\n";
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, tcp("10.0.0.1", "10.9.0.1", 80)));
    assertEquals(PfVerdict.PASS, parentOnly(rules, tcp("10.0.0.1", "10.1.0.1", 80)));
  }

  @Test
  void replacingATable_changesVerdictsWithoutTouchingRules() {
    PfEvaluator pf =
        PfEvaluator.of(
            WILDCARD,
            Map.of(
                "c",
                "table <t> persist { 10.1.0.1 }\npass in quick inet proto tcp from 10.0.0.1 to <t> port = 443\nblock in quick inet from 10.0.0.1 to any\n"));
    assertEquals(PfVerdict.PASS, pf.verdict(tcp("10.0.0.1", "10.1.0.1", 443)));
    PfEvaluator replaced = pf.withTableReplaced("c", "t", "10.1.0.2\n");
    assertEquals(PfVerdict.BLOCK, replaced.verdict(tcp("10.0.0.1", "10.1.0.1", 443)));
    assertEquals(PfVerdict.PASS, replaced.verdict(tcp("10.0.0.1", "10.1.0.2", 443)));
    assertEquals(
        PfVerdict.BLOCK,
        pf.withTableReplaced("c", "t", "").verdict(tcp("10.0.0.1", "10.1.0.2", 443)));
    assertThrows(IllegalArgumentException.class, () -> pf.withTableReplaced("c", "other", ""));
    assertThrows(IllegalArgumentException.class, () -> pf.withTableReplaced("d", "t", ""));
    assertThrows(
        IllegalArgumentException.class, () -> pf.withTableReplaced("c", "t", "not-an-address\n"));
  }

  @Test
  void families_neverMatchAcross() {
    String rules = "block in quick inet all\n";
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, tcp("10.0.0.1", "10.0.0.2", 80)));
    assertEquals(PfVerdict.PASS, parentOnly(rules, tcp("fd00::1", "fd00::2", 80)));
    assertEquals(
        PfVerdict.PASS,
        parentOnly("block in quick from ! 10.0.0.0/8 to any\n", tcp("fd00::1", "fd00::2", 80)),
        "an IPv4 address pins the rule to inet, negated or not");
    assertEquals(
        PfVerdict.BLOCK,
        parentOnly("block in quick inet6 from fd00::/64 to any\n", tcp("fd00::1", "fd00::2", 80)));
  }

  @Test
  void directionAndInterface_areMatched_includingNegation() {
    String rules =
        "block in quick on ! lo0 inet from 192.168.70.0/24 to any\nblock out quick on bridge101 all\n";
    PfPacket fromSubnet = tcp("192.168.70.5", "1.1.1.1", 443);
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, fromSubnet));
    assertEquals(
        PfVerdict.PASS,
        parentOnly(
            rules,
            new PfPacket(
                Direction.IN,
                "lo0",
                IpProtocol.TCP,
                fromSubnet.source(),
                fromSubnet.destination(),
                443)));
    assertEquals(
        PfVerdict.PASS,
        parentOnly(
            rules,
            new PfPacket(
                Direction.OUT,
                "en0",
                IpProtocol.TCP,
                fromSubnet.source(),
                fromSubnet.destination(),
                443)));
    assertEquals(
        PfVerdict.BLOCK,
        parentOnly(
            rules,
            new PfPacket(
                Direction.OUT,
                "bridge101",
                IpProtocol.TCP,
                fromSubnet.source(),
                fromSubnet.destination(),
                443)));
  }

  @Test
  void protocols_areMatched_andIcmpNeverMatchesAPortRule() {
    String rules = "pass in quick inet proto udp from any to any port = 53\nblock in quick all\n";
    PfPacket udp =
        PfPacket.in(
            "bridge100",
            IpProtocol.UDP,
            IpAddresses.parse("10.0.0.1"),
            IpAddresses.parse("10.0.0.2"),
            53);
    PfPacket icmp =
        PfPacket.in(
            "bridge100",
            IpProtocol.ICMP,
            IpAddresses.parse("10.0.0.1"),
            IpAddresses.parse("10.0.0.2"),
            0);
    assertEquals(PfVerdict.PASS, parentOnly(rules, udp));
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, tcp("10.0.0.1", "10.0.0.2", 53)));
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, icmp));
  }

  @Test
  void portOperators_matchAsPfConfDefinesThem() {
    int[][] cases = {
      // low edge, high edge, and one beyond each, for "a:b" (inclusive), "a><b" (exclusive), "a<>b"
      // (outside)
      {1999, 0, 0, 1},
      {2000, 1, 0, 0},
      {2004, 1, 0, 0},
      {2005, 0, 0, 1},
      {2001, 1, 1, 0},
      {2003, 1, 1, 0},
    };
    for (int[] c : cases) {
      int port = c[0];
      assertEquals(c[1] == 1, passes("port 2000:2004", port), "2000:2004 vs " + port);
      assertEquals(c[2] == 1, passes("port 2000 >< 2004", port), "2000><2004 vs " + port);
      assertEquals(c[3] == 1, passes("port 2000 <> 2004", port), "2000<>2004 vs " + port);
    }
    assertTrue(passes("port = 443", 443));
    assertTrue(passes("port 443", 443));
    assertTrue(!passes("port != 443", 443) && passes("port != 443", 444));
    assertTrue(passes("port < 1024", 1023) && !passes("port < 1024", 1024));
    assertTrue(passes("port <= 1024", 1024) && !passes("port <= 1024", 1025));
    assertTrue(passes("port > 1024", 1025) && !passes("port > 1024", 1024));
    assertTrue(passes("port >= 1024", 1024) && !passes("port >= 1024", 1023));
  }

  private static boolean passes(String port, int value) {
    String rules = "block in all\npass in inet proto tcp from any to any " + port + "\n";
    return parentOnly(rules, tcp("10.0.0.1", "10.0.0.2", value)) == PfVerdict.PASS;
  }

  @Test
  void textOutsideTheSubset_isRejectedWithItsLine() {
    List<String> bad =
        List.of(
            "pass in inet proto tcp from any to any port 80 modulate state\n",
            "pass in inet proto tcp from any to any port 80 flags S/SAFR keep state\n",
            "block in inet proto tcp from any to any port 80 keep state\n",
            "pass in inet proto udp from any to any flags S/SA\n",
            "pass in inet6 proto icmp6 from any to any icmp6-type neighbrsol\n",
            "pass in inet6 proto icmp6 from any to any icmp6-type 256\n",
            "pass in inet proto tcp from any to any icmp6-type 135\n",
            "pass in inet6 proto icmp6 from any to { fe80::/10, 10.0.0.0/8 }\n",
            "pass in inet6 proto icmp6 from any to ! { fe80::/10 }\n",
            "pass in proto tcp from (bridge100) to any\n",
            "pass in quick from any to any port = 80\n",
            "pass in inet from 10.0.0.1 port 80 to any\n",
            "pass in quick inet6 from 10.0.0.1 to any\n",
            "pass in quick inet from any to <undefined>\n",
            "table <t> { !10.0.0.1 }\n",
            "anchor \"foo\"\n",
            "nat on en0 from any to any -> 10.0.0.1\n",
            "pass in quick inet proto tcp from any to any port 90:80\n",
            "pass in quick inet proto tcp from any to any port = 65536\n",
            "pass in quick on en0; block all\n");
    for (String text : bad) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> PfEvaluator.of(text, Map.of()), text);
      assertTrue(
          e.getMessage().startsWith("parent:1: ") || e.getMessage().startsWith("parent: "),
          e.getMessage());
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> PfEvaluator.of(WILDCARD, Map.of("c", WILDCARD)),
        "children cannot nest anchors");
    assertThrows(IllegalArgumentException.class, () -> PfEvaluator.of(WILDCARD, Map.of("a/b", "")));
  }

  @Test
  void packet_mixingFamilies_isRejected() {
    assertThrows(IllegalArgumentException.class, () -> tcp("10.0.0.1", "fd00::1", 80));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            PfPacket.in(
                "bridge100",
                IpProtocol.ICMP,
                IpAddresses.parse("10.0.0.1"),
                IpAddresses.parse("10.0.0.2"),
                7));
  }

  @Test
  void withChildAndWithoutChild_loadAndRemoveAnchors() {
    PfEvaluator empty = PfEvaluator.of(WILDCARD, Map.of());
    PfEvaluator loaded = empty.withChild("c", "block in quick all\n");
    assertEquals(PfVerdict.BLOCK, loaded.verdict(tcp("10.0.0.1", "10.0.0.2", 80)));
    assertEquals(PfVerdict.PASS, loaded.withoutChild("c").verdict(tcp("10.0.0.1", "10.0.0.2", 80)));
    assertEquals(
        PfVerdict.PASS,
        empty.verdict(tcp("10.0.0.1", "10.0.0.2", 80)),
        "copies leave the original alone");
  }

  private static PfPacket outOnBridge(
      IpProtocol protocol, String source, String destination, int port) {
    return new PfPacket(
        Direction.OUT,
        "bridge100",
        protocol,
        IpAddresses.parse(source),
        IpAddresses.parse(destination),
        port);
  }

  private static PfPacket icmp6(String source, String destination, int type) {
    return PfPacket.icmp6In(
        "bridge100", IpAddresses.parse(source), IpAddresses.parse(destination), type);
  }

  @Test
  void icmp6Types_matchByNumber_andOnlyIcmp6() {
    String rules =
        "pass in quick inet6 proto icmp6 from any to { fe80::/10, ff02::1:ff00:0/104 }"
            + " icmp6-type { 135, 136 } no state\n"
            + "pass in quick inet6 proto icmp6 from any to ff02::2 icmp6-type 133 no state\n"
            + "block in quick all\n";
    assertEquals(PfVerdict.PASS, parentOnly(rules, icmp6("fe80::3", "fe80::1", 135)));
    assertEquals(PfVerdict.PASS, parentOnly(rules, icmp6("::", "ff02::1:ff00:3", 135)));
    assertEquals(PfVerdict.PASS, parentOnly(rules, icmp6("fe80::3", "fe80::1", 136)));
    assertEquals(PfVerdict.PASS, parentOnly(rules, icmp6("fe80::3", "ff02::2", 133)));
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, icmp6("fe80::3", "ff02::2", 135)));
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, icmp6("fe80::3", "fe80::1", 128)));
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, icmp6("fe80::3", "2001:db8::1", 135)));
    assertEquals(PfVerdict.BLOCK, parentOnly(rules, tcp("fe80::3", "fe80::1", 135)));
    assertEquals(
        PfPacket.ECHO_REQUEST,
        new PfPacket(
                Direction.IN,
                "bridge100",
                IpProtocol.ICMP6,
                IpAddresses.parse("fe80::3"),
                IpAddresses.parse("fe80::1"),
                0)
            .icmp6Type());
    assertThrows(IllegalArgumentException.class, () -> icmp6("fe80::3", "fe80::1", 256));
  }

  @Test
  void replies_passByTheStateOfARuleThatKeepsIt_andOnlyThen() {
    String parent =
        "pass out quick on bridge100 inet proto tcp from (bridge100) to 192.168.64.0/24"
            + " flags S/SA keep state\n"
            + "pass out quick on bridge100 inet proto udp from (bridge100) to 192.168.64.0/24"
            + " keep state\n"
            + "pass out quick on bridge100 inet proto tcp from any to 192.168.64.0/24 port = 7"
            + " no state\n"
            + "block in quick inet from 192.168.64.3 to any\n";
    PfEvaluator pf =
        PfEvaluator.of(parent, Map.of())
            .withInterfaceAddresses("bridge100", List.of(IpAddresses.parse("192.168.64.1")));
    PfPacket hostSyn = outOnBridge(IpProtocol.TCP, "192.168.64.1", "192.168.64.3", 8080);
    PfDecision reply = pf.evaluateReply(hostSyn, 50000);
    assertEquals(PfVerdict.PASS, reply.verdict());
    assertTrue(reply.rule().startsWith("state of: pass out quick on bridge100 inet proto tcp"));
    PfPacket hostUdp = outOnBridge(IpProtocol.UDP, "192.168.64.1", "192.168.64.3", 5353);
    assertEquals(PfVerdict.PASS, pf.evaluateReply(hostUdp, 50000).verdict());
    // Not from the host's own address: no rule keeps state, the reply meets the block.
    PfPacket forwarded = outOnBridge(IpProtocol.TCP, "203.0.113.9", "192.168.64.3", 8080);
    assertEquals(PfVerdict.BLOCK, pf.evaluateReply(forwarded, 50000).verdict());
    // A pass with 'no state' leaves no state behind.
    PfPacket stateless = outOnBridge(IpProtocol.TCP, "203.0.113.9", "192.168.64.3", 7);
    assertEquals(PfVerdict.PASS, pf.verdict(stateless));
    assertEquals(PfVerdict.BLOCK, pf.evaluateReply(stateless, 50000).verdict());
    // pf's default pass keeps no state either.
    PfEvaluator empty = PfEvaluator.of("block in quick inet from 192.168.64.3 to any\n", Map.of());
    assertEquals(PfVerdict.BLOCK, empty.evaluateReply(hostSyn, 50000).verdict());
    // Without the interface's addresses, (bridge100) matches nothing.
    assertEquals(
        PfVerdict.BLOCK, PfEvaluator.of(parent, Map.of()).evaluateReply(hostSyn, 1).verdict());
    // The container opening a connection itself is still blocked.
    assertEquals(PfVerdict.BLOCK, pf.verdict(hostSyn.reply(50000)));
  }
}
