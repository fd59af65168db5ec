package dev.egress.pf.render;

import static dev.egress.pf.render.Fixtures.container;
import static dev.egress.pf.render.Fixtures.policy;
import static dev.egress.pf.render.Fixtures.resolutions;
import static dev.egress.pf.render.Fixtures.rules;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.TableName;
import dev.egress.policy.HostName;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.Resolutions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PfRendererTest {

  @Test
  void renderChild_nameThatIsNotASafeAnchorComponent_isRefused() {
    Child base = Fixtures.denyAll();
    for (String name :
        List.of("", "_reserved", "a/b", "a b", "x\n", "*", ".hidden", "a".repeat(64))) {
      assertThrows(
          IllegalArgumentException.class,
          () -> PfRenderer.renderChild(new AnchorName(name), base.plan()),
          name);
    }
  }

  @Test
  void renderChild_unknownGateway_rendersNoGatewayRuleAndNoDns() throws Exception {
    Child rules =
        rules(
            container("a", "", "192.168.64.3"),
            policy("allow gateway port 3001", "dns gateway"),
            Resolutions.none());
    assertEquals("block return in quick inet from 192.168.64.3 to any\n", rules.render().text());
  }

  @Test
  void renderChild_containerWithoutIpv6_rendersNoInet6Rule() throws Exception {
    assertFalse(Fixtures.manyNamesAndPorts().render().text().contains("inet6"));
  }

  @Test
  void renderChild_everyRuleIsInAndQuick_andEachAddressEndsWithABlock() throws Exception {
    String text = Fixtures.nanoClaw().render().text();
    List<String> rules = rulesOnly(text);
    for (String rule : rules) {
      assertTrue(rule.matches("(pass|block return) in (log )?quick inet6? .*"), rule);
    }
    assertTrue(rules.contains("block return in log quick inet from 192.168.64.3 to any"), text);
    assertTrue(rules.contains("block return in log quick inet6 from fd00:64::3 to any"), text);
  }

  @Test
  void renderChild_logDeniedOff_hasNoLog() throws Exception {
    assertFalse(Fixtures.manyNamesAndPorts().render().text().contains(" log "));
  }

  @Test
  void renderChild_unsafeAnyAddress_rendersAnyAndNoTableForItsPorts() throws Exception {
    Child rules =
        rules(
            container("a", "192.168.64.1", "192.168.64.3"),
            policy("allow unsafe-any-address port 443", "allow example.com port 443", "dns none"),
            resolutions(Map.of("example.com", List.of("93.184.216.34"))));
    ChildRuleset child = rules.render();
    assertEquals(
        "pass in quick inet proto tcp from 192.168.64.3 to any port = 443\n"
            + "block return in quick inet from 192.168.64.3 to any\n",
        child.text());
    assertEquals(List.of(), child.tables());
  }

  @Test
  void renderChild_rangeSpanningDns_passesTheRangesOnEitherSideOf53() throws Exception {
    Child rules =
        rules(
            container("a", "192.168.64.1", "192.168.64.3"),
            policy("allow 10.0.0.0/8 port 1-65535 proto udp", "dns gateway"),
            Resolutions.none());
    assertEquals(
        "pass in quick inet proto tcp from 192.168.64.3 to 192.168.64.1 port = 53\n"
            + "pass in quick inet proto udp from 192.168.64.3 to 192.168.64.1 port = 53\n"
            + "pass in quick inet proto udp from 192.168.64.3 to 10.0.0.0/8 port 1:52\n"
            + "pass in quick inet proto udp from 192.168.64.3 to 10.0.0.0/8 port 54:65535\n"
            + "block return in quick inet from 192.168.64.3 to any\n",
        rules.render().text());
  }

  @Test
  void renderChild_rulesDoNotDependOnWhatNamesResolveTo() throws Exception {
    Child before = Fixtures.nanoClaw();
    Child after = new Child(before.name(), before.container(), before.policy(), Resolutions.none());
    assertEquals(rulesOnly(before.render().text()), rulesOnly(after.render().text()));
    assertEquals(
        List.of(IpNetwork.parse("160.79.104.0/23")),
        after.render().table(new TableName("tcp_443")).entries());
  }

  @Test
  void tablesHolding_returnsOnlyTheTablesOfChangedNames() throws Exception {
    ChildRuleset child = Fixtures.manyNamesAndPorts().render();
    assertEquals(
        List.of("tcp_22", "tcp_443"),
        names(child.tablesHolding(Set.of(HostName.of("github.com")))));
    assertEquals(
        List.of("udp_123"), names(child.tablesHolding(Set.of(HostName.of("time.example.org")))));
    assertEquals(List.of(), names(child.tablesHolding(Set.of(HostName.of("unrelated.example")))));
    assertTrue(child.table(new TableName("dns")).hostNames().isEmpty());
  }

  @Test
  void tableContents_isOneSortedEntryPerLine() throws Exception {
    ChildRuleset child = Fixtures.nanoClaw().render();
    assertEquals(
        "160.79.104.0/23\n160.79.104.10\n2607:6bc0::10\n",
        child.table(new TableName("tcp_443")).contents());
    assertEquals(
        "", Fixtures.manyNamesAndPorts().render().table(new TableName("udp_123")).contents());
    assertEquals(
        "9.9.9.9\n192.168.64.1\n",
        PfRenderer.renderTable(
            Fixtures.manyNamesAndPorts().name(),
            Fixtures.manyNamesAndPorts().plan(),
            new TableName("dns")));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            PfRenderer.renderTable(
                Fixtures.nanoClaw().name(), Fixtures.nanoClaw().plan(), new TableName("dns")));
  }

  @Test
  void table_unknownName_saysWhichTablesExist() throws Exception {
    ChildRuleset child = Fixtures.nanoClaw().render();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> child.table(new TableName("tcp_80")));
    assertTrue(e.getMessage().contains("tcp_443"), e.getMessage());
  }

  @Test
  void renderChild_moreTablesThanAllowed_isRefused() {
    String[] lines =
        IntStream.rangeClosed(1, PfRenderer.MAX_TABLES_PER_CONTAINER + 1)
            .mapToObj(i -> "allow h" + i + ".example.com port " + (1000 + 2 * i))
            .toArray(String[]::new);
    Child rules = rules(container("a", "", "192.168.64.3"), policy(lines), Resolutions.none());
    UnsupportedPolicyException e =
        assertThrows(UnsupportedPolicyException.class, () -> rules.render());
    assertTrue(e.getMessage().contains("101 pf tables"), e.getMessage());
  }

  @Test
  void renderParent_withoutGuard_isTheWildcardAnchorsAlone() {
    assertEquals(
        "rdr-anchor \"*\"\nanchor \"*\"\n", PfRenderer.renderParent(ParentAnchor.defaults()));
  }

  @Test
  void renderParent_withGuard_blocksSubnetsAndBridgeAfterTheChildren() {
    ParentAnchor parent =
        ParentAnchor.defaults()
            .guarding(
                ManagedNetwork.of(IpNetwork.parse("192.168.70.0/24")).onBridge("bridge101"), false);
    assertEquals(
        "rdr-anchor \"*\"\n"
            + "anchor \"*\"\n"
            + "pass in quick on bridge101 inet6 proto icmp6 from :: to ff02::1:ff00:0/104"
            + " icmp6-type 135 no state\n"
            + "pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to fe80::/10"
            + " icmp6-type 135 no state\n"
            + "pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to fe80::/10"
            + " icmp6-type 136 no state\n"
            + "pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::1"
            + " icmp6-type 135 no state\n"
            + "pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::1"
            + " icmp6-type 136 no state\n"
            + "pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::1:ff00:0/104"
            + " icmp6-type 135 no state\n"
            + "pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::1:ff00:0/104"
            + " icmp6-type 136 no state\n"
            + "pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::2"
            + " icmp6-type 133 no state\n"
            + "pass out quick on bridge101 inet proto tcp from (bridge101) to 192.168.70.0/24"
            + " flags S/SA keep state\n"
            + "pass out quick on bridge101 inet proto udp from (bridge101) to 192.168.70.0/24"
            + " keep state\n"
            + "block return in quick on ! lo0 inet from 192.168.70.0/24 to any\n"
            + "block return in quick on bridge101 all\n",
        PfRenderer.renderParent(parent));
  }

  @Test
  void renderParent_withASubnetGuardOnly_hasNoPassesOfItsOwn() {
    ParentAnchor parent =
        ParentAnchor.defaults().guarding(ManagedNetwork.of(IpNetwork.parse("fd00:70::/64")), true);
    assertEquals(
        "rdr-anchor \"*\"\nanchor \"*\"\nblock return in log quick on ! lo0 inet6 from fd00:70::/64 to any\n",
        PfRenderer.renderParent(parent));
  }

  @Test
  void renderChild_sameInputsInAnotherOrder_rendersTheSameBytes() throws Exception {
    Child a =
        rules(
            container("a", "192.168.64.1", "192.168.64.3", "fd00::3", "fd00::2"),
            policy("allow b.example port 443", "allow a.example port 443"),
            resolutions(
                Map.of(
                    "a.example",
                    List.of("10.0.0.1", "fd00::1"),
                    "b.example",
                    List.of("10.0.0.2"))));
    Child b =
        rules(
            container("a", "192.168.64.1", "fd00::2", "192.168.64.3", "fd00::3"),
            policy("allow a.example port 443", "allow b.example port 443"),
            resolutions(
                Map.of(
                    "b.example",
                    List.of("10.0.0.2"),
                    "a.example",
                    List.of("fd00::1", "10.0.0.1"))));
    assertEquals(a.render().text(), b.render().text());
  }

  @Test
  void renderChild_destinationsAWiderRuleAlreadyPasses_getNoRuleOrEntryOfTheirOwn()
      throws Exception {
    Child rules =
        rules(
            container("a", "192.168.64.1", "192.168.64.3"),
            policy(
                "allow 10.0.0.0/8 port 1-65535",
                "allow 10.1.0.0/16 port 443",
                "allow 172.17.0.0/16 port 8443",
                "allow 172.17.3.0/24 port 8443",
                "allow 172.16.0.1 port 8443",
                "allow unsafe-any-address port 80-90 proto udp",
                "allow 10.0.0.1 port 85 proto udp",
                "allow gateway port 3001",
                "allow 192.168.64.0/24 port 3000-3010",
                "dns none"),
            Resolutions.none());
    assertEquals(
        "table <tcp_8443> persist { 172.16.0.1, 172.17.0.0/16 }\n"
            + "pass in quick inet proto tcp from 192.168.64.3 to 10.0.0.0/8 port 1:52\n"
            + "pass in quick inet proto tcp from 192.168.64.3 to 10.0.0.0/8 port 54:65535\n"
            + "pass in quick inet proto tcp from 192.168.64.3 to 192.168.64.0/24 port 3000:3010\n"
            + "pass in quick inet proto tcp from 192.168.64.3 to <tcp_8443> port = 8443\n"
            + "pass in quick inet proto udp from 192.168.64.3 to any port 80:90\n"
            + "block return in quick inet from 192.168.64.3 to any\n",
        rules.render().text());
    assertEquals(
        List.of(IpNetwork.parse("172.16.0.1"), IpNetwork.parse("172.17.0.0/16")),
        rules.render().table(new TableName("tcp_8443")).entries());
  }

  private static List<String> names(List<PfTable> tables) {
    return tables.stream().map(table -> table.name().value()).toList();
  }

  private static List<String> rulesOnly(String text) {
    return Arrays.stream(text.split("\n"))
        .filter(l -> !l.startsWith("table "))
        .collect(Collectors.toList());
  }
}
