package dev.egress.pf.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.render.LoadGrammar.Load;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LoadGrammarTest {
  static final LoadScope SCOPE =
      new LoadScope(
          List.of(IpNetwork.parse("192.168.64.0/24"), IpNetwork.parse("fd00:64::/64")),
          List.of("bridge100"),
          IpAddresses.parse("192.168.64.1"));

  /** A container's load as egress-pf writes it, with {@code extra} before the end line. */
  static String childLoad(String extra) {
    return "table <tcp_443> persist { 160.79.104.0/23, 2607:6bc0::10 }\n"
        + "pass in quick inet proto tcp from 192.168.64.3 to <tcp_443> port = 443\n"
        + extra
        + "block return in log quick inet from 192.168.64.3 to any\n"
        + Pfctl.END_OF_LOAD
        + "\n";
  }

  private static String refusal(Load load, String text) {
    return assertThrows(IllegalArgumentException.class, () -> LoadGrammar.check(load, text, SCOPE))
        .getMessage();
  }

  @Test
  void theRenderersLines_pass() {
    LoadGrammar.check(
        Load.CHILD,
        childLoad(
            "pass in quick inet6 proto udp from fd00:64::3 to 2001:db8::/32 port 1:52\n"
                + "block return in quick inet6 proto udp from fd00:64::3 to any port = 53\n"
                + "pass in quick inet proto tcp from 192.168.64.3 to any port 54:65535\n"
                + "table <udp_123> persist\n"),
        SCOPE);
    LoadGrammar.check(
        Load.CHILD,
        "table <n_any_example_com_0a1b2c3d> persist\n"
            + "rdr inet proto tcp from 192.168.64.3 to any port = 53 -> 192.168.64.1 port 53\n"
            + "rdr inet proto udp from 192.168.64.3 to any port = 53 -> 192.168.64.1 port 53\n"
            + "pass in quick inet proto udp from 192.168.64.3 to 192.168.64.1 port = 53\n"
            + "pass in quick inet proto tcp from 192.168.64.3 to <n_any_example_com_0a1b2c3d>"
            + " port = 443\n"
            + Pfctl.END_OF_LOAD
            + "\n",
        SCOPE);
    LoadGrammar.check(
        Load.PARENT,
        "rdr-anchor \"*\"\nanchor \"*\"\n"
            + "block return in log quick on ! lo0 inet from 192.168.64.0/24 to any\n"
            + "block return in quick on ! lo0 inet6 from fd00:64::/80 to any\n"
            + "block return in quick on bridge100 all\n"
            + Pfctl.END_OF_LOAD
            + "\n",
        SCOPE);
    LoadGrammar.check(Load.TABLE, "10.0.0.0/8\n2001:db8::1\n" + Pfctl.END_OF_LOAD + "\n", SCOPE);
    LoadGrammar.check(Load.TABLE, Pfctl.END_OF_LOAD + "\n", SCOPE);
  }

  @Test
  void aRedirectToAnIpv6DnsFilter_passes_andTheOtherFamilysTargetDoesNot() {
    LoadScope ipv6Filter =
        new LoadScope(SCOPE.networks(), SCOPE.bridges(), IpAddresses.parse("fd00:64::1"));
    String redirect =
        "rdr inet6 proto udp from fd00:64::3 to any port = 53 -> fd00:64::1 port 53\n";

    LoadGrammar.check(Load.CHILD, childLoad(redirect), ipv6Filter);
    assertThrows(
        IllegalArgumentException.class,
        () -> LoadGrammar.check(Load.CHILD, childLoad(redirect), SCOPE));
  }

  @Test
  void neighbourDiscoveryInTheOwnPrefix_passesForAnyScopeOnThatLink_only() {
    String line =
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fd00:64::/64 icmp6-type 136 no state\n";
    LoadGrammar.check(Load.CHILD, childLoad(line), SCOPE);
    LoadScope narrow =
        new LoadScope(List.of(IpNetwork.parse("fd00:64::/80")), List.of("bridge100"));
    LoadScope hostOnly =
        new LoadScope(
            List.of(IpNetwork.parse("192.168.64.3"), IpNetwork.parse("fd00:64::3")), List.of());
    LoadScope otherLink = new LoadScope(List.of(IpNetwork.parse("fd00:65::/64")), List.of());
    assertTrue(narrow.holdsOnLink("fd00:64::/64"));
    assertTrue(hostOnly.holdsOnLink("fd00:64::/64"));
    assertTrue(SCOPE.holdsOnLink("fd00:64::/64"));
    assertFalse(otherLink.holdsOnLink("fd00:64::/64"));
    assertFalse(SCOPE.holdsOnLink("fd00:64::/63"));
    assertFalse(SCOPE.holdsOnLink("fd00:64::/48"));
    assertFalse(SCOPE.holdsOnLink("fd00:64::"));
    assertFalse(SCOPE.holdsOnLink("192.168.64.0/64"));
    assertFalse(
        new LoadScope(List.of(IpNetwork.parse("fd00::/16")), List.of()).holdsOnLink("fe80::/64"));
  }

  @Test
  void theRenderersNewParentLines_pass() {
    LoadGrammar.check(
        Load.PARENT,
        "anchor \"*\"\n"
            + "pass in quick on bridge100 inet6 proto icmp6 from :: to ff02::1:ff00:0/104"
            + " icmp6-type 135 no state\n"
            + "pass in quick on bridge100 inet6 proto icmp6 from fe80::/10 to ff02::1"
            + " icmp6-type 136 no state\n"
            + "pass in quick on bridge100 inet6 proto icmp6 from fe80::/10 to ff02::2"
            + " icmp6-type 133 no state\n"
            + "pass out quick on bridge100 inet6 proto udp from (bridge100) to fd00:64::/64"
            + " keep state\n"
            + "pass out quick on bridge100 inet proto tcp from (bridge100) to 192.168.64.0/24"
            + " flags S/SA keep state\n"
            + Pfctl.END_OF_LOAD
            + "\n",
        SCOPE);
  }

  /** The five lines issue 18 got through the wrapper to pfctl, and variations of them. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "rdr pass on en0 inet proto tcp from any to any port 443 -> 127.0.0.1 port 8443",
        "pass out quick all",
        "table <loot> persist file \"/etc/master.passwd\"",
        "include \"/var/root/.ssh/id_rsa\"",
        "load anchor \"x\" from \"/etc/sudoers\"",
        "rdr pass on bridge100 inet proto udp from 192.168.64.3 to any port 53 -> 127.0.0.1",
        "nat on en0 from 192.168.64.0/24 to any -> (en0)",
        "pass in quick all",
        "pass in quick inet from any to any",
        "pass out quick inet proto tcp from 192.168.64.3 to any port = 443",
        "pass in quick on en0 inet proto tcp from 192.168.64.3 to any port = 443",
        "pass in quick inet proto tcp from 10.0.0.5 to any port = 443",
        "pass in quick inet proto tcp from 192.168.65.3 to any port = 443",
        "pass in quick inet proto tcp from 192.168.64.0/24 to any port = 443",
        "pass in quick inet proto tcp from { 192.168.64.3, 10.0.0.5 } to any port = 443",
        "pass in quick inet proto tcp from ! 192.168.64.3 to any port = 443",
        "pass in quick inet proto tcp from any to any port = 443",
        "pass in quick inet6 proto tcp from fe80::3 to any port = 443",
        "pass in quick inet6 proto tcp from fd00:64::3:: to any port = 443",
        "pass in quick inet6 proto tcp from fd00:64:0:1::3 to any port = 443",
        "pass in quick inet proto tcp from 192.168.64.3 to any port = 443 route-to (en0 10.0.0.1)",
        "pass in quick inet proto tcp from 192.168.64.3 to any port = 443 # comment",
        "pass in quick inet proto tcp from 192.168.64.3 to any port = 443 \\",
        "pass in quick inet proto tcp from 192.168.64.3 to evil.example port = 443",
        "pass in quick inet proto tcp from 192.168.64.3 to $evil port = 443",
        "pass in  quick inet proto tcp from 192.168.64.3 to any port = 443",
        "block return in quick all",
        "block return in quick inet from any to any",
        "block return in quick on en0 all",
        "table <t> persist { 10.0.0.1 } file \"/etc/master.passwd\"",
        "table <t> const { 10.0.0.1 }",
        "table <t> persist { !10.0.0.1 }",
        "table <t> persist { evil.example }",
        "table <t> persist { en0 }",
        "table <Loot> persist",
        "anchor \"*\"",
        "anchor \"x\"",
        "load anchor \"x\" from \"/dev/stdin\"",
        "set skip on en0",
        "evil = \"1.2.3.4\"",
        "scrub in all",
        "",
        " ",
        Pfctl.END_OF_LOAD,
        // Neighbour discovery, wider than the renderer writes it:
        "pass in quick inet6 proto icmp6 from fd00:64::3 to any icmp6-type 135 no state",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to 2001:db8::/64 icmp6-type 135 no state",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fd00:65::/64 icmp6-type 135 no state",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fd00:64::/48 icmp6-type 135 no state",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to ff05::2 icmp6-type 135 no state",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fe80::/10 icmp6-type 128 no state",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fe80::/10 icmp6-type 135",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fe80::/10 icmp6-type 135 keep state",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fe80::/10 no state",
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fe80::/10 icmp6-type { 135, 128 }"
            + " no state",
        "pass in quick inet6 proto icmp6 from fd00:65::3 to fe80::/10 icmp6-type 135 no state",
        "pass in quick inet6 proto icmp6 from fe80::/10 to fe80::/10 icmp6-type 135 no state",
        "pass in quick inet6 proto icmp6 from :: to ff02::1:ff00:0/104 icmp6-type 135 no state",
        "pass in quick inet proto icmp from 192.168.64.3 to 192.168.64.0/24 no state",
        "pass out quick on bridge100 inet proto tcp from (bridge100) to 192.168.64.0/24"
            + " flags S/SA keep state",
        // The DNS redirect, wider than the renderer writes it:
        "rdr pass inet proto udp from 192.168.64.3 to any port = 53 -> 192.168.64.1 port 53",
        "rdr on en0 inet proto udp from 192.168.64.3 to any port = 53 -> 192.168.64.1 port 53",
        "rdr inet proto udp from any to any port = 53 -> 192.168.64.1 port 53",
        "rdr inet proto udp from 10.0.0.5 to any port = 53 -> 192.168.64.1 port 53",
        "rdr inet proto udp from 192.168.64.0/24 to any port = 53 -> 192.168.64.1 port 53",
        "rdr inet proto udp from ! 192.168.64.3 to any port = 53 -> 192.168.64.1 port 53",
        "rdr inet proto udp from 192.168.64.3 to 8.8.8.8 port = 53 -> 192.168.64.1 port 53",
        "rdr inet proto udp from 192.168.64.3 to any port = 443 -> 192.168.64.1 port 53",
        "rdr inet proto udp from 192.168.64.3 to any port 1:65535 -> 192.168.64.1 port 53",
        "rdr inet proto udp from 192.168.64.3 to any -> 192.168.64.1 port 53",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> 192.168.64.1 port 5353",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> 192.168.64.1",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> 10.0.0.0/8 port 53",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> <dns> port 53",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> (en0) port 53",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> evil.example port 53",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> { 10.0.0.1, 10.0.0.2 } port 53",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> 192.168.64.1 port 53"
            + " round-robin",
        "rdr inet proto icmp from 192.168.64.3 to any -> 192.168.64.1",
        "rdr inet from 192.168.64.3 to any -> 192.168.64.1",
        "no rdr inet proto udp from 192.168.64.3 to any port = 53",
        "nat inet from 192.168.64.3 to any -> 192.168.64.1",
        "binat inet from 192.168.64.3 to any -> 192.168.64.1",
        "rdr-anchor \"*\"",
        "nat-anchor \"*\"",
      })
  void childLoad_withAnyOtherLine_isRefused(String line) {
    String message = refusal(Load.CHILD, childLoad(line + "\n"));

    assertTrue(message.startsWith("line 3 ") || message.contains("not printable"), message);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "anchor \"*\" all",
        "anchor \"com.apple/*\"",
        "anchor \"../*\"",
        "block return in quick on en0 all",
        "block return in quick on bridge101 all",
        "block return in quick on ! lo0 inet from 10.0.0.0/8 to any",
        "block return in quick on ! lo0 inet from 192.168.0.0/16 to any",
        "block return in quick on ! lo0 inet from any to any",
        "block return in quick on lo0 inet from 192.168.64.0/24 to any",
        "pass in quick on bridge100 all",
        "pass in quick inet proto tcp from 192.168.64.3 to any port = 443",
        "rdr-anchor \"com.apple/*\"",
        "rdr-anchor \"../*\"",
        "rdr-anchor \"x\"",
        "rdr-anchor \"*\" on en0",
        "rdr-anchor \"*\" from any to any",
        "nat-anchor \"*\"",
        "binat-anchor \"*\"",
        "rdr inet proto udp from 192.168.64.3 to any port = 53 -> 192.168.64.1 port 53",
        // Neighbour discovery and the host's connections, wider than the renderer writes them:
        "pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to fe80::/10 icmp6-type 135"
            + " no state",
        "pass in quick on en0 inet6 proto icmp6 from fe80::/10 to fe80::/10 icmp6-type 135 no state",
        "pass in quick inet6 proto icmp6 from fe80::/10 to fe80::/10 icmp6-type 135 no state",
        "pass in quick on bridge100 inet6 proto icmp6 from any to fe80::/10 icmp6-type 135 no state",
        "pass in quick on bridge100 inet6 proto icmp6 from fe80::/10 to any icmp6-type 135 no state",
        "pass in quick on bridge100 inet6 proto icmp6 from fe80::/10 to 2001:db8::1 icmp6-type 135"
            + " no state",
        "pass in quick on bridge100 inet6 proto icmp6 from fe80::/10 to fe80::/10 icmp6-type 128"
            + " no state",
        "pass in quick on bridge100 inet6 proto icmp6 from fe80::/10 to fe80::/10 icmp6-type 135",
        "pass in quick on bridge100 inet6 proto icmp6 from :: to any icmp6-type 135 no state",
        "pass in quick on bridge100 inet6 proto icmp6 from :: to ff02::1:ff00:0/104 icmp6-type 136"
            + " no state",
        "pass in quick on bridge100 inet6 proto icmp6 from fe80::/10 to ff02::2 icmp6-type 134"
            + " no state",
        "pass in quick on bridge100 inet6 proto icmp6 from fe80::/10 to ff02::1:2 icmp6-type 133"
            + " no state",
        "pass out quick on bridge100 inet proto tcp from (bridge100) to any flags S/SA keep state",
        "pass out quick on bridge100 inet proto tcp from any to 192.168.64.0/24 flags S/SA keep"
            + " state",
        "pass out quick on bridge100 inet proto tcp from (en0) to 192.168.64.0/24 flags S/SA keep"
            + " state",
        "pass out quick on en0 inet proto tcp from (bridge100) to 192.168.64.0/24 flags S/SA keep"
            + " state",
        "pass out quick on bridge100 inet proto tcp from (bridge100) to 10.0.0.0/8 flags S/SA keep"
            + " state",
        "pass out quick on bridge100 inet proto tcp from (bridge100) to 192.168.64.0/24",
        "pass out quick on bridge100 inet proto tcp from (bridge100) to 192.168.64.0/24 no state",
        "pass out quick on bridge100 inet proto icmp from (bridge100) to 192.168.64.0/24 keep"
            + " state",
        "pass out quick on bridge100 inet proto tcp from (bridge100) to 192.168.64.0/24 port = 22"
            + " flags S/SA keep state",
        "pass in quick on bridge100 inet proto tcp from (bridge100) to 192.168.64.0/24 flags S/SA"
            + " keep state",
      })
  void parentLoad_withAnyOtherLine_isRefused(String line) {
    String message =
        refusal(Load.PARENT, "anchor \"*\"\n" + line + "\n" + Pfctl.END_OF_LOAD + "\n");

    assertTrue(message.startsWith("line 2 "), message);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "!10.0.0.1",
        "evil.example",
        "en0",
        "self",
        "10.0.0.1 10.0.0.2",
        "file \"/etc/master.passwd\"",
        "10.0.0.1/33",
        "10.0.0.01",
        "2001:DB8::1",
        "::ffff:10.0.0.1",
        "pass in quick all",
      })
  void tableLoad_withAnythingButAnAddressOrNetworkPerLine_isRefused(String line) {
    String message = refusal(Load.TABLE, "10.0.0.1\n" + line + "\n" + Pfctl.END_OF_LOAD + "\n");

    assertTrue(message.startsWith("line 2 "), message);
  }

  @Test
  void aLoadCutShort_orWithAnythingAfterItsEndLine_isRefused() {
    String whole = childLoad("");
    String withoutEnd = whole.substring(0, whole.length() - Pfctl.END_OF_LOAD.length() - 1);

    assertTrue(refusal(Load.CHILD, withoutEnd).contains("does not end with the line"));
    assertTrue(refusal(Load.CHILD, whole.substring(0, whole.length() - 1)).contains("newline"));
    assertTrue(refusal(Load.CHILD, "").contains("newline"));
    assertTrue(
        refusal(Load.CHILD, whole + "pass in quick all\n").contains("does not end with the line"));
    assertTrue(refusal(Load.CHILD, whole + whole).startsWith("line 4 "));
  }

  @Test
  void bytesOtherThanPrintableAsciiAndNewlines_areRefused() {
    for (String bad : List.of("\t", "\r", "\0", "\u00a0", "\u202e", "\u00e9")) {
      String text =
          childLoad("pass in quick inet proto tcp from 192.168.64.3 to any port = 22" + bad + "\n");

      assertTrue(refusal(Load.CHILD, text).contains("not printable ASCII on line 3"), bad);
    }
  }

  @Test
  void aLoadLargerThanPfctlsLimit_isRefused() {
    String entry = "10.0.0.1\n";
    String text = entry.repeat(Pfctl.MAX_LOAD_BYTES / entry.length()) + Pfctl.END_OF_LOAD + "\n";

    assertTrue(refusal(Load.TABLE, text).contains("more than " + Pfctl.MAX_LOAD_BYTES));
  }

  @Test
  void scope_holdsAddressesAndNetworksInsideItsNetworksOnly() {
    for (String inside :
        List.of(
            "192.168.64.0",
            "192.168.64.255",
            "192.168.64.128/25",
            "fd00:64::",
            "fd00:64::ffff:1",
            "fd00:64::/64",
            "fd00:64::/128")) {
      assertTrue(SCOPE.holds(inside), inside);
    }
    for (String outside :
        List.of(
            "192.168.65.0",
            "192.168.64.0/23",
            "192.168.64.0/33",
            "192.168.64.0/",
            "192.168.64.0/024",
            "192.168.064.1",
            "fd00:64:0:1::",
            "fd00:64::/63",
            "fd00:64::/129",
            "fd00:64::1::",
            "::ffff:192.168.64.3",
            "0.0.0.0",
            "::",
            "bridge100",
            "")) {
      assertFalse(SCOPE.holds(outside), outside);
    }
  }

  @Test
  void scope_refusesNoNetworksAWholeFamilyAndBadBridgeNames() {
    assertThrows(IllegalArgumentException.class, () -> new LoadScope(List.of(), List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> new LoadScope(List.of(IpNetwork.parse("0.0.0.0/0")), List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> new LoadScope(List.of(IpNetwork.parse("10.0.0.0/8")), List.of("en0 all")));
  }

  @Test
  void everyShape_isAnchoredAndChecksOnlyGroupsItHas() {
    for (Load load : Load.values()) {
      for (LoadGrammar.LineShape shape : LoadGrammar.shapes(load)) {
        assertTrue(shape.regex().startsWith("^") && shape.regex().endsWith("$"), shape.regex());
        int groups = java.util.regex.Pattern.compile(shape.regex()).matcher("").groupCount();
        shape.checks().forEach(check -> assertTrue(check.group() <= groups, shape.toString()));
      }
    }
    // The redirect checks its source and pins its target to the DNS filter.
    assertEquals(
        List.of(LoadGrammar.Role.MANAGED, LoadGrammar.Role.DNS_FILTER),
        LoadGrammar.shapes(Load.CHILD).get(1).checks().stream()
            .map(LoadGrammar.Check::role)
            .toList());
  }

  @Test
  void aRedirect_toAnyAddressButTheDnsFilter_isRefused() {
    for (String target : List.of("192.168.64.2", "fd00:64::1", "8.8.8.8", "192.168.64.10")) {
      String message =
          refusal(
              Load.CHILD,
              childLoad(
                  "rdr inet proto udp from 192.168.64.3 to any port = 53 -> "
                      + target
                      + " port 53\n"));

      assertTrue(message.contains("line 3 (the redirect of"), message);
      assertTrue(message.contains("DNS filter 192.168.64.1"), message);
    }
  }

  @Test
  void aRedirect_withoutADnsFilterInTheScope_isRefused() {
    LoadScope noFilter = new LoadScope(SCOPE.networks(), SCOPE.bridges());
    String redirect =
        childLoad(
            "rdr inet proto udp from 192.168.64.3 to any port = 53 -> 192.168.64.1 port 53\n");

    IllegalArgumentException refused =
        assertThrows(
            IllegalArgumentException.class,
            () -> LoadGrammar.check(Load.CHILD, redirect, noFilter));
    assertTrue(refused.getMessage().contains("no DNS filter"), refused.getMessage());
    LoadGrammar.check(Load.CHILD, redirect, SCOPE);
  }
}
