package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.TrafficCounters;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Parsing what {@code nft list table} prints (text captured from nft 1.0.6). */
class NftListingTest {
  private static final String LISTING =
      ""
          + "table inet egress {\n"
          + "\tmap src4 {\n"
          + "\t\ttype ipv4_addr : verdict\n"
          + "\t\telements = { 10.77.0.2 : jump c_a_0123456789ab, 10.77.0.3 : jump c_b_0123456789ab,\n"
          + "\t\t\t     10.77.0.4 : accept }\n"
          + "\t}\n"
          + "\n"
          + "\tmap src6 {\n"
          + "\t\ttype ipv6_addr : verdict\n"
          + "\t\telements = { fd00:77::2 : jump c_a_0123456789ab }\n"
          + "\t}\n"
          + "\n"
          + "\tset c_a_0123456789ab_4 {\n"
          + "\t\ttype ipv4_addr . inet_proto . inet_service\n"
          + "\t\tflags interval,timeout\n"
          + "\t\telements = { 10.99.0.10 . tcp . 443,\n"
          + "\t\t\t     10.99.0.11 . udp . 8000-8100 }\n"
          + "\t}\n"
          + "\n"
          + "\tset c_a_0123456789ab_6 {\n"
          + "\t\ttype ipv6_addr . inet_proto . inet_service\n"
          + "\t\tflags interval,timeout\n"
          + "\t}\n"
          + "\n"
          + "\tset redirect4 {\n"
          + "\t\ttype ipv4_addr\n"
          + "\t\telements = { 10.77.0.2 }\n"
          + "\t}\n"
          + "\n"
          + "\tset links {\n"
          + "\t\ttype ifname\n"
          + "\t\telements = { \"docker0\", \"br-0a1b2c3d4e5f\" }\n"
          + "\t}\n"
          + "\n"
          + "\tchain forward {\n"
          + "\t\ttype filter hook forward priority filter - 10; policy accept;\n"
          + "\t\tip saddr vmap @src4\n"
          + "\t}\n"
          + "\n"
          + "\tchain c_a_0123456789ab {\n"
          + "\t\tct state established ct direction original counter packets 30 bytes 2000 accept\n"
          + "\t\tip daddr . meta l4proto . th dport @c_a_0123456789ab_4 counter packets 12 bytes 720"
          + " accept comment \"plan 0123456789abcdef0123456789abcdef\"\n"
          + "\t\tcounter packets 3 bytes 180 goto deny\n"
          + "\t}\n"
          + "}\n";

  @Test
  void parse_readsChainsWithoutCounterValues_theirCounterSums_setsAndMultiLineMaps() {
    NftListing listing = NftListing.parse(LISTING);

    assertEquals(
        List.of(
            "ct state established ct direction original counter accept",
            "ip daddr . meta l4proto . th dport @c_a_0123456789ab_4 counter accept"
                + " comment \"plan 0123456789abcdef0123456789abcdef\"",
            "counter goto deny"),
        listing.chains().get("c_a_0123456789ab"));
    assertEquals(
        new TrafficCounters(42, 2720, 3, 180),
        listing.counters().get("c_a_0123456789ab"),
        "a rule's comment after its verdict hides no counter");
    assertEquals(TrafficCounters.ZERO, listing.counters().get("forward"), "no counted rule");
    assertEquals(
        "type filter hook forward priority filter - 10; policy accept;",
        listing.chainHeader("forward"));
    assertEquals(
        Set.of(
            new SetElement(IpAddresses.parse("10.99.0.10"), Protocol.TCP, PortRange.of(443)),
            new SetElement(
                IpAddresses.parse("10.99.0.11"), Protocol.UDP, new PortRange(8000, 8100))),
        listing.hostSets().get("c_a_0123456789ab_4"));
    assertEquals(Set.of(), listing.hostSets().get("c_a_0123456789ab_6"));
    assertEquals(
        Map.of(
            "c_a_0123456789ab_4",
            listing.hostSets().get("c_a_0123456789ab_4"),
            "c_a_0123456789ab_6",
            Set.of()),
        listing.setsOf(new ChainName("c_a_0123456789ab")));
    assertEquals(Set.of(IpAddresses.parse("10.77.0.2")), listing.sets().get("redirect4"));
    assertTrue(listing.hostSets().get("redirect4") == null, "no container's set");
    assertEquals(
        List.of(IpAddresses.parse("10.77.0.2"), IpAddresses.parse("fd00:77::2")),
        listing.dispatchedTo("c_a_0123456789ab"));
    assertEquals(
        Map.of(
            IpAddresses.parse("10.77.0.2"),
            "c_a_0123456789ab",
            IpAddresses.parse("10.77.0.3"),
            "c_b_0123456789ab",
            IpAddresses.parse("fd00:77::2"),
            "c_a_0123456789ab"),
        listing.dispatch());
    assertEquals(Set.of("docker0", "br-0a1b2c3d4e5f"), listing.links());
    assertTrue(listing.sets().get("links") == null, "the links are names, not addresses");
  }

  @Test
  void parse_ofAnEmptyText_findsNothing() {
    assertTrue(NftListing.parse("").chains().isEmpty());
  }

  @Test
  void elementsWithATimeout_areKeptApart_withTheTimeTheyHaveLeft() {
    NftListing listing =
        NftListing.parse(
            "table inet egress {\n"
                + "\tset c_a_0123456789ab_4 {\n"
                + "\t\ttype ipv4_addr . inet_proto . inet_service\n"
                + "\t\tflags interval,timeout\n"
                + "\t\telements = { 192.0.2.10 . tcp . 443 timeout 59s500ms expires 59s360ms,"
                + " 192.0.2.11 . tcp . 1-52 timeout 1h expires 59m59s860ms,\n"
                + "\t\t\t     192.0.2.12 . udp . 443 }\n"
                + "\t}\n"
                + "}\n");

    assertEquals(
        Set.of(new SetElement(IpAddresses.parse("192.0.2.12"), Protocol.UDP, PortRange.of(443))),
        listing.hostSets().get("c_a_0123456789ab_4"));
    assertEquals(
        Map.of(
            new SetElement(IpAddresses.parse("192.0.2.10"), Protocol.TCP, PortRange.of(443)),
            Duration.ofMillis(59_360),
            new SetElement(IpAddresses.parse("192.0.2.11"), Protocol.TCP, new PortRange(1, 52)),
            Duration.ofMinutes(59).plusMillis(59_860)),
        listing.timed().get("c_a_0123456789ab_4"));
  }

  @Test
  void
      anElementOfAContainersSetThatIsNoneOfOurs_readsAsUnreadable_andAnEarlierPerNameSetIsItsChains() {
    NftListing listing =
        NftListing.parse(
            "table inet egress {\n"
                + "\tset c_a_0123456789ab_h0_4 {\n"
                + "\t\ttype ipv4_addr\n"
                + "\t\tflags timeout\n"
                + "\t\telements = { 192.0.2.10, 192.0.2.11 timeout 1h expires 59m,"
                + " 192.0.2.12 timeout 2s expires 1s }\n"
                + "\t}\n"
                + "\tset c_a_0123456789ab_4 {\n"
                + "\t\ttype ipv4_addr . inet_proto . inet_service\n"
                + "\t\telements = { 192.0.2.10 . icmp . 443, 192.0.2.10 . tcp . 0-9,"
                + " 192.0.2.10 . tcp }\n"
                + "\t}\n"
                + "}\n");

    assertEquals(Set.of(SetElement.UNREADABLE), listing.hostSets().get("c_a_0123456789ab_h0_4"));
    assertEquals(
        Map.of(SetElement.UNREADABLE, Duration.ofMinutes(59)),
        listing.timed().get("c_a_0123456789ab_h0_4"));
    assertEquals(Set.of(SetElement.UNREADABLE), listing.hostSets().get("c_a_0123456789ab_4"));
    assertEquals(
        List.of("192.0.2.10 . icmp . 443", "192.0.2.10 . tcp . 0-9", "192.0.2.10 . tcp"),
        listing.hostSetTexts().get("c_a_0123456789ab_4"),
        "shown as nft printed them");
    assertEquals(
        Set.of("c_a_0123456789ab_h0_4", "c_a_0123456789ab_4"),
        listing.setsOf(new ChainName("c_a_0123456789ab")).keySet());
  }

  @Test
  void aTimeNftDidNotWrite_countsAsALongTime() {
    assertEquals(Duration.ofDays(1).plusSeconds(2), NftListing.parseTime("1d2s"));
    assertTrue(NftListing.parseTime("2x").compareTo(Duration.ofDays(365)) > 0);
    assertTrue(NftListing.parseTime("").compareTo(Duration.ofDays(365)) > 0);
  }

  @Test
  void parse_aCounterAtTheKernelsMaximum_andASumPastLongsRange_readAsLongsMaximum() {
    // 2^64 - 1: nft's counters are unsigned 64-bit, and a root process can set one to anything.
    String max = "18446744073709551615";
    NftListing listing =
        NftListing.parse(
            LISTING
                .replace("packets 30 bytes 2000", "packets " + max + " bytes " + max)
                .replace("packets 12 bytes 720", "packets " + Long.MAX_VALUE + " bytes 1"));

    assertEquals(
        new TrafficCounters(Long.MAX_VALUE, Long.MAX_VALUE, 3, 180),
        listing.counters().get("c_a_0123456789ab"));
  }
}
