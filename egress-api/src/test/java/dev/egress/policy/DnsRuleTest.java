package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class DnsRuleTest {
  private static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  @Test
  void servers_areSortedNumerically_ipv4First_withoutDuplicates() {
    DnsRule.Servers servers =
        new DnsRule.Servers(
            List.of(ip("fd00::53"), ip("10.0.0.10"), ip("10.0.0.9"), ip("10.0.0.10")));

    assertEquals(List.of(ip("10.0.0.9"), ip("10.0.0.10"), ip("fd00::53")), servers.addresses());
    assertEquals("dns 10.0.0.9 10.0.0.10 fd00::53", servers.toString());
  }

  @Test
  void servers_inAnyOrder_areEqual() {
    assertEquals(
        DnsRule.servers(ip("10.0.0.1"), ip("10.0.0.2")),
        DnsRule.servers(ip("10.0.0.2"), ip("10.0.0.1"), ip("10.0.0.2")));
  }

  @Test
  void servers_needAtLeastOneAddress_andSayHowToAllowNone() {
    String message =
        assertThrows(IllegalArgumentException.class, () -> new DnsRule.Servers(List.of()))
            .getMessage();
    assertTrue(message.contains("dns none"), message);
  }

  @Test
  void servers_areImmutable() {
    DnsRule.Servers servers = new DnsRule.Servers(List.of(ip("10.0.0.1")));
    assertThrows(
        UnsupportedOperationException.class, () -> servers.addresses().add(ip("10.0.0.2")));
  }

  @Test
  void toString_isThePolicyLine() {
    assertEquals("dns gateway", DnsRule.gateway().toString());
    assertEquals("dns none", DnsRule.none().toString());
  }
}
