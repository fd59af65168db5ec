package dev.egress.pf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PfBackendTest {
  private static final String RENDERED =
      "pass in quick inet proto tcp from 192.168.70.10 to <tcp_443> port = 443";

  @Test
  void sameRule_acceptsWhatPfctlPrintsForTheRenderedRule() {
    assertTrue(PfBackend.sameRule(RENDERED, RENDERED));
    assertTrue(PfBackend.sameRule(RENDERED, RENDERED + " flags S/SA keep state"));
    assertTrue(
        PfBackend.sameRule(
            RENDERED,
            "pass in quick inet proto tcp from 192.168.70.10 to <tcp_443> port = https flags S/SA keep state"));
    assertTrue(PfBackend.sameRule("anchor \"*\"", "anchor \"*\" all"));
  }

  @Test
  void sameRule_rejectsAnyOtherRule() {
    assertFalse(
        PfBackend.sameRule(
            RENDERED, "pass in quick inet proto tcp from 192.168.70.11 to <tcp_443> port = 443"));
    assertFalse(
        PfBackend.sameRule(
            RENDERED, "pass in quick inet proto tcp from 192.168.70.10 to any port = 443"));
    assertFalse(
        PfBackend.sameRule(
            RENDERED, "pass in quick inet proto tcp from 192.168.70.10 to <tcp_443>"));
    assertFalse(
        PfBackend.sameRule(
            RENDERED, "pass in inet proto tcp from 192.168.70.10 to <tcp_443> port = 443"));
    assertFalse(
        PfBackend.sameRule(
            "block return in quick inet from 192.168.70.10 to any",
            "pass in quick inet from 192.168.70.10 to any"));
  }

  @Test
  void sameRule_acceptsIcmp6AsPfctlNamesItsProtocolAndTypes_onlyForTheRenderedType() {
    String rendered =
        "pass in quick inet6 proto icmp6 from fd00:64::3 to fe80::/10 icmp6-type 135 no state";
    assertTrue(
        PfBackend.sameRule(
            rendered,
            "pass in quick inet6 proto ipv6-icmp from fd00:64::3 to fe80::/10"
                + " icmp6-type neighbrsol no state"));
    assertTrue(PfBackend.sameRule(rendered, rendered));
    assertFalse(
        PfBackend.sameRule(
            rendered,
            "pass in quick inet6 proto ipv6-icmp from fd00:64::3 to fe80::/10"
                + " icmp6-type neighbradv no state"));
    assertFalse(
        PfBackend.sameRule(
            rendered,
            "pass in quick inet6 proto ipv6-icmp from fd00:64::3 to fe80::/10"
                + " icmp6-type echoreq no state"));
    assertFalse(
        PfBackend.sameRule(
            rendered,
            "pass in quick inet6 proto ipv6-icmp from fd00:64::3 to fe80::/10"
                + " icmp6-type neighbrsol keep state"));
    assertFalse(
        PfBackend.sameRule(
            "pass in quick inet6 proto tcp from fd00:64::3 to any port = 443",
            "pass in quick inet6 proto ipv6-icmp from fd00:64::3 to any port = 443"));
  }

  @Test
  void sameRule_acceptsAServiceName_onlyForItsOwnPort() {
    assertTrue(
        PfBackend.sameRule(
            "pass in quick inet proto udp from 192.168.70.10 to 192.168.70.1" + " port = 53",
            "pass in quick inet proto udp from 192.168.70.10 to 192.168.70.1"
                + " port = domain keep state"));
    assertTrue(
        PfBackend.sameRule(
            "pass in quick inet proto tcp from 192.168.70.10 to <t> port = 5432",
            "pass in quick inet proto tcp from 192.168.70.10 to <t> port = postgresql flags S/SA keep state"));
    assertFalse(
        PfBackend.sameRule(
            RENDERED,
            "pass in quick inet proto tcp from 192.168.70.10 to <tcp_443> port = ssh flags S/SA keep state"));
    assertFalse(
        PfBackend.sameRule(
            RENDERED, "pass in quick inet proto tcp from 192.168.70.10 to <tcp_443> port = http"));
  }

  @Test
  void sameRule_treatsAnUnknownServiceName_asDrift() {
    assertFalse(
        PfBackend.sameRule(
            RENDERED,
            "pass in quick inet proto tcp from 192.168.70.10 to <tcp_443> port = no-such-service"));
  }

  @Test
  void sameRule_acceptsOnlyPfctlsDefaults_afterTheRenderedWords() {
    assertTrue(PfBackend.sameRule(RENDERED, RENDERED + " keep state"));
    assertTrue(PfBackend.sameRule(RENDERED, RENDERED + " flags S/SA"));
    assertFalse(PfBackend.sameRule(RENDERED, RENDERED + " user = 0"));
    assertFalse(PfBackend.sameRule(RENDERED, RENDERED + " flags S/SA keep state tagged x"));
    assertFalse(PfBackend.sameRule(RENDERED, RENDERED + " keep state (max 1)"));
    assertFalse(PfBackend.sameRule(RENDERED, RENDERED + " all"));
    assertFalse(
        PfBackend.sameRule(
            "block return in quick inet from 192.168.70.10 to any",
            "block return in quick inet from 192.168.70.10 to any os Windows"));
    assertFalse(PfBackend.sameRule("anchor \"*\"", "anchor \"*\" all tagged x"));
  }

  @Test
  void sameRules_needsTheSameCountInTheSameOrder() {
    List<String> rendered =
        List.of(RENDERED, "block return in quick inet from 192.168.70.10 to any");
    assertTrue(PfBackend.sameRules(rendered, rendered));
    assertFalse(PfBackend.sameRules(rendered, rendered.subList(0, 1)));
    assertFalse(PfBackend.sameRules(rendered, List.of(rendered.get(1), rendered.get(0))));
    assertFalse(PfBackend.sameRules(rendered, List.of()));
  }

  @Test
  void ruleLines_dropTableDefinitionsAndBlankLines() {
    assertEquals(
        List.of("block in quick all"),
        PfBackend.ruleLines("table <t> persist { 1.2.3.4 }\n\n  block  in quick all\n"));
  }
}
