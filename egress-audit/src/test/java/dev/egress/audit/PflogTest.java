package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/**
 * pf's log as {@code tcpdump -q -n -e -l -tt -i pflog0} prints it, into packets and reasons. pf
 * cannot run here: the lines are written by hand from tcpdump's print-pflog.c ({@code rule
 * %u.%s.%u/}, {@code : %s %s on %s: }) and pf's header (the ruleset is the last anchor component,
 * cut to 15 bytes), with our anchors' names.
 */
class PflogTest {
  private static final PflogReasons REASONS =
      new PflogReasons(
          "com.apple/000.egress",
          List.of(IpNetwork.parse("192.168.64.0/24"), IpNetwork.parse("fd00:64::/64")));

  private static TcpdumpLine.PflogEntry entry(String line) {
    return Objects.requireNonNull(TcpdumpLine.parsePflog(line), line);
  }

  @Test
  void containerAnchor_tcpV4_isNotInPolicy() {
    TcpdumpLine.PflogEntry e =
        entry(
            "1764440000.123456 rule 0.c-1a2b3c4d5e6f.5/0(match): block in on bridge100: "
                + "192.168.64.3.51234 > 203.0.113.9.443: tcp 0");

    assertEquals("c-1a2b3c4d5e6f", e.ruleset());
    assertEquals("bridge100", e.ifname());
    assertEquals(
        new RefusedPacket(
            Instant.ofEpochSecond(1764440000L, 123_456_000),
            IpAddresses.parse("192.168.64.3"),
            IpAddresses.parse("203.0.113.9"),
            PacketProtocol.TCP,
            443),
        e.packet());
    assertEquals(Reason.NOT_IN_POLICY, REASONS.reasonOf(e));
  }

  @Test
  void containerAnchor_tcpV6WithFullDecode_isNotInPolicy() {
    TcpdumpLine.PflogEntry e =
        entry(
            "1764440000.223456 rule 0.c-1a2b3c4d5e6f.9/0(match): block in on bridge100: "
                + "fd00:64::3.40000 > 2001:db8::9.443: Flags [S], seq 1, win 64800, length 0");

    assertEquals(PacketProtocol.TCP, e.packet().protocol());
    assertEquals(IpAddresses.parse("fd00:64::3"), e.packet().source());
    assertEquals(IpAddresses.parse("2001:db8::9"), e.packet().destination());
    assertEquals(Reason.NOT_IN_POLICY, REASONS.reasonOf(e));
  }

  @Test
  void containerAnchor_udpTo53_isDnsToAForeignResolver_bothFamilies() {
    TcpdumpLine.PflogEntry v4 =
        entry(
            "1764440001.000000 rule 0.c-1a2b3c4d5e6f.7/0(match): block in on bridge100: "
                + "192.168.64.3.5353 > 8.8.8.8.53: UDP, length 31");
    TcpdumpLine.PflogEntry v6 =
        entry(
            "1764440001.000001 rule 0.c-1a2b3c4d5e6f.12/0(match): block in on bridge100: "
                + "fd00:64::3.5353 > 2001:4860:4860::8888.53: UDP, length 31");

    assertEquals(Reason.DNS_FOREIGN_RESOLVER, REASONS.reasonOf(v4));
    assertEquals(Reason.DNS_FOREIGN_RESOLVER, REASONS.reasonOf(v6));
    assertEquals(PacketProtocol.UDP, v6.packet().protocol());
  }

  @Test
  void containerAnchor_icmpBothFamilies_isNotInPolicy() {
    TcpdumpLine.PflogEntry v4 =
        entry(
            "1764440002.000000 rule 0.c-1a2b3c4d5e6f.5/0(match): block in on bridge100: "
                + "192.168.64.3 > 203.0.113.9: ICMP echo request, id 7, seq 1, length 64");
    TcpdumpLine.PflogEntry v6 =
        entry(
            "1764440002.000001 rule 0.c-1a2b3c4d5e6f.9/0(match): block in on bridge100: "
                + "fd00:64::3 > 2001:db8::9: ICMP6, echo request, id 7, seq 1, length 64");

    assertEquals(PacketProtocol.ICMP, v4.packet().protocol());
    assertEquals(PacketProtocol.ICMPV6, v6.packet().protocol());
    assertNull(v6.packet().destinationPort());
    assertEquals(Reason.NOT_IN_POLICY, REASONS.reasonOf(v4));
    assertEquals(Reason.NOT_IN_POLICY, REASONS.reasonOf(v6));
  }

  @Test
  void parentAnchor_sourceInAGuardedSubnet_isGuardUnattached_bothFamilies() {
    TcpdumpLine.PflogEntry v4 =
        entry(
            "1764440000.323456 rule 0.000.egress.3/0(match): block in on bridge100: "
                + "192.168.64.77.5353 > 8.8.8.8.53: UDP, length 31");
    TcpdumpLine.PflogEntry v6 =
        entry(
            "1764440000.323457 rule 0.000.egress.4/0(match): block in on bridge100: "
                + "fd00:64::77.40000 > 2001:db8::9.443: tcp 0");

    assertEquals("000.egress", v4.ruleset());
    assertEquals(Reason.GUARD_UNATTACHED, REASONS.reasonOf(v4));
    assertEquals(Reason.GUARD_UNATTACHED, REASONS.reasonOf(v6));
  }

  @Test
  void parentAnchor_sourceOutsideTheGuardedSubnets_isSpoofed() {
    TcpdumpLine.PflogEntry e =
        entry(
            "1764440000.423456 rule 0.000.egress.5/0(match): block in on bridge100: "
                + "10.9.9.9.40000 > 203.0.113.9.443: tcp 0");

    assertEquals(Reason.SPOOFED_SOURCE, REASONS.reasonOf(e));
  }

  @Test
  void parentName_longerThan15Bytes_isMatchedCut() {
    PflogReasons reasons =
        new PflogReasons(
            "com.apple/000.egress-longer-name", List.of(IpNetwork.parse("10.0.0.0/8")));
    TcpdumpLine.PflogEntry e =
        entry(
            "1764440000.423456 rule 0.000.egress-long.5/0(match): block in on bridge100: "
                + "10.9.9.9.40000 > 203.0.113.9.443: tcp 0");

    assertEquals(Reason.GUARD_UNATTACHED, reasons.reasonOf(e));
  }

  @Test
  void uidSuffix_isAccepted() {
    TcpdumpLine.PflogEntry e =
        entry(
            "1764440000.123456 rule 0.c-1.5/0(match) [uid 0]: block in on bridge100: "
                + "192.168.64.3.51234 > 203.0.113.9.443: tcp 0");

    assertEquals("c-1", e.ruleset());
  }

  @Test
  void emptyRuleset_stateMatch_isNotARefusalOfOurs() {
    TcpdumpLine.PflogEntry e =
        entry(
            "1764440000.523456 rule 0..0/0(match): block in on bridge100: "
                + "192.168.64.3.51234 > 203.0.113.9.443: tcp 0");

    assertEquals("", e.ruleset());
    assertNull(REASONS.reasonOf(e));
  }

  @Test
  void mainRulesetRule_passesAndOutbound_areNotRefusalsOfOurs() {
    for (String line :
        List.of(
            "1764440000.600000 rule 3/0(match): block in on en0: 10.0.0.1.1 > 10.0.0.2.22: tcp 0",
            "1764440000.600000 rule 0.c-1.1/0(match): pass in on bridge100: "
                + "192.168.64.3.5 > 192.168.64.1.53: UDP, length 31",
            "1764440000.600000 rule 0.c-1.1/0(match): block out on bridge100: "
                + "192.168.64.3.5 > 192.168.64.1.53: UDP, length 31")) {
      TcpdumpLine.PflogEntry e = TcpdumpLine.parsePflog(line);
      if (e != null) {
        assertNull(REASONS.reasonOf(e), line);
      }
    }
    assertNotNull(
        TcpdumpLine.parsePflog(
            "1764440000.600000 rule 3/0(match): block in on en0: 10.0.0.1.1 > 10.0.0.2.22: tcp 0"));
  }

  @Test
  void linesWithoutPfHeader_orWithAGuessedProtocol_areNotParsed() {
    assertNull(TcpdumpLine.parsePflog("1764440000.123456 IP 10.0.0.1.1 > 10.0.0.2.22: tcp 0"));
    assertNull(
        TcpdumpLine.parsePflog(
            "1764440000.323456 rule 0.000.egress.3/0(match): block in on bridge100: "
                + "192.168.64.77.5353 > 8.8.8.8.53: 1234+ A? exfil.example. (31)"));
  }
}
