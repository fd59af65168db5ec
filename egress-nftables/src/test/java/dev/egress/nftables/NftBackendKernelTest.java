package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.RuleSetName;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.LabRequirement;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The nftables backend against the real kernel, in a {@link NetnsLab}: real packets from container
 * namespaces through the host namespace's filter. Drives the backend directly (resolve, render,
 * install, refresh, remove); {@code NftEgressEnforcerKernelTest} covers the enforcer's lifecycle on
 * top.
 */
class NftBackendKernelTest {
  private static final String API = "api.example.test";
  private static NetnsLab lab;
  private static NftBackend backend;

  @BeforeAll
  static void startLab() throws Exception {
    lab = LabRequirement.startLab(3, "nft", "conntrack");
    backend = backendFor(lab);
    backend.prepare();
  }

  static NftBackend backendFor(NetnsLab lab) {
    return LabNft.backend(lab, LabNft.guard(lab));
  }

  @AfterAll
  static void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @BeforeEach
  void resetNames() throws IOException {
    lab.names().set(API, Duration.ofSeconds(2), NetnsLab.web(0), NetnsLab.webV6(0));
  }

  @AfterEach
  void removeEverything() throws Exception {
    for (Map.Entry<RuleSetName, List<InetAddress>> installed : backend.installed().entrySet()) {
      backend.remove(installed.getKey(), installed.getValue());
    }
  }

  private static EgressPolicy policy(String text) throws Exception {
    return PolicyText.parse(text, "test.policy");
  }

  private static Rules attach(ContainerEndpoint endpoint, EgressPolicy policy) throws Exception {
    backend.checkSupported(policy);
    Resolutions resolutions = lab.names().resolve(policy.hostNames());
    Rules rules = new Rules(backend.ruleSetName(endpoint.id()), endpoint, policy, resolutions);
    backend.install(rules.name(), rules.plan());
    return rules;
  }

  private static void detach(ContainerEndpoint endpoint) throws Exception {
    backend.remove(backend.ruleSetName(endpoint.id()), endpoint.addresses());
  }

  private static String text(InetAddress address) {
    return IpAddresses.format(address);
  }

  private static String apiPolicy() {
    return "allow " + API + " port 443 proto tcp\ndns " + text(NetnsLab.dnsServer()) + "\n";
  }

  @Test
  void allowedNameAndPort_isReached_otherPortAndOtherHostsAreRefused() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), policy(apiPolicy()));

    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 80));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 8443));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(2), 443));
  }

  @Test
  void udpAndIcmp_areRefused_untilUdpIsAllowed_andIcmpStaysRefused() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), policy(apiPolicy()));
    assertFalse(c1.udp(NetnsLab.web(0), NetnsLab.UDP_PORT).reached());
    assertFalse(c1.ping(NetnsLab.web(0)).reached());

    attach(
        c1.endpoint(),
        policy(
            apiPolicy()
                + "allow "
                + text(NetnsLab.web(0))
                + " port "
                + NetnsLab.UDP_PORT
                + " proto udp\n"));
    assertEquals(Outcome.REACHED, c1.udp(NetnsLab.web(0), NetnsLab.UDP_PORT));
    assertFalse(c1.udp(NetnsLab.web(1), NetnsLab.UDP_PORT).reached());
    assertFalse(c1.ping(NetnsLab.web(0)).reached());
  }

  @Test
  void dns_isAnsweredByTheNamedResolver_andRefusedByAnyOther_evenUnderAWideAllowLine()
      throws Exception {
    LabContainer c1 = lab.container(1);
    attach(
        c1.endpoint(),
        policy(
            apiPolicy()
                + "allow 10.99.0.0/24 port 1-65535 proto udp\nallow 10.99.0.0/24 port 1-65535 proto tcp\n"));

    assertEquals(Outcome.REACHED, c1.dnsQuery(NetnsLab.dnsServer(), API));
    assertFalse(c1.dnsQuery(NetnsLab.otherDnsServer(), API).reached());
    assertFalse(c1.tcp(NetnsLab.otherDnsServer(), 53).reached());
    // The wide line still opens everything else on that network.
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(2), 8443));
  }

  @Test
  void ipv6_isRefused_unlessThePolicyAllowsAnIpv6Destination() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), policy("allow " + text(NetnsLab.web(0)) + " port 443 proto tcp\n"));
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.webV6(0), 443));
    assertFalse(c1.udp(NetnsLab.webV6(0), NetnsLab.UDP_PORT).reached());

    attach(c1.endpoint(), policy(apiPolicy()));
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.webV6(0), 443));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.webV6(1), 443));
  }

  @Test
  void hostServices_onTheInputPath_areRefused_unlessTheGatewayPortIsAllowed() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), policy(apiPolicy()));
    assertEquals(Outcome.REFUSED, c1.tcp(lab.gateway(), 3001));
    assertEquals(Outcome.REFUSED, c1.tcp(lab.gateway(), 2222));
    assertEquals(Outcome.REFUSED, c1.tcp(lab.gatewayV6(), 3001));

    attach(c1.endpoint(), policy(apiPolicy() + "allow gateway port 3001 proto tcp\n"));
    assertEquals(Outcome.REACHED, c1.tcp(lab.gateway(), 3001));
    assertEquals(Outcome.REFUSED, c1.tcp(lab.gateway(), 2222));
  }

  @Test
  void containerThatChangesItsSourceAddress_reachesNothing() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), policy(apiPolicy()));
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
    Thread.sleep(200); // let the echo server count that connection before taking the baseline
    int acceptedBefore = lab.acceptedOnInternet(443);
    String ns = c1.namespace();
    lab.exec(
        ns,
        "sh",
        "-c",
        "ip addr del 10.77.0.2/24 dev eth0 && ip addr add 10.77.0.99/24 dev eth0"
            + " && ip route add default via 10.77.0.1");
    try {
      assertNotEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      assertNotEquals(Outcome.REACHED, c1.tcp(lab.gateway(), 3001));
      Thread.sleep(200);
      assertEquals(acceptedBefore, lab.acceptedOnInternet(443), "no SYN may reach the internet");
    } finally {
      lab.exec(
          ns,
          "sh",
          "-c",
          "ip addr del 10.77.0.99/24 dev eth0 && ip addr add 10.77.0.2/24"
              + " dev eth0 && ip route add default via 10.77.0.1");
    }
  }

  @Test
  void establishedConnection_isCutAtDetach() throws Exception {
    LabContainer c2 = lab.container(2);
    attach(c2.endpoint(), policy(apiPolicy()));
    assertEquals(Outcome.REACHED, c2.open("cut", NetnsLab.web(0), 443));
    assertEquals(Outcome.REACHED, c2.exchange("cut"));

    detach(c2.endpoint());

    assertNotEquals(Outcome.REACHED, c2.exchange("cut"));
    assertEquals(Outcome.REFUSED, c2.tcp(NetnsLab.web(0), 443));
  }

  @Test
  void newContainerReusingADetachedContainersAddress_inheritsNothing() throws Exception {
    LabContainer c2 = lab.container(2);
    attach(c2.endpoint(), policy(apiPolicy()));
    assertEquals(Outcome.REACHED, c2.open("old", NetnsLab.web(0), 443));
    detach(c2.endpoint());

    attach(
        c2.endpointAs(ContainerId.of("successor")),
        policy("allow " + text(NetnsLab.web(1)) + " port 80 proto tcp\n"));

    assertNotEquals(Outcome.REACHED, c2.exchange("old"));
    assertEquals(Outcome.REFUSED, c2.tcp(NetnsLab.web(0), 443));
    assertEquals(Outcome.REACHED, c2.tcp(NetnsLab.web(1), 80));
    assertFalse(c2.dnsQuery(NetnsLab.dnsServer(), API).reached());
  }

  @Test
  void startedButUnattachedContainer_reachesNothing_underTheGuard() {
    LabContainer c3 = lab.container(3);
    assertEquals(Outcome.REFUSED, c3.tcp(NetnsLab.web(0), 443));
    assertEquals(Outcome.REFUSED, c3.tcp(NetnsLab.webV6(0), 443));
    assertEquals(Outcome.REFUSED, c3.tcp(lab.gateway(), 3001));
    assertFalse(c3.udp(NetnsLab.web(0), NetnsLab.UDP_PORT).reached());
    assertFalse(c3.dnsQuery(NetnsLab.dnsServer(), API).reached());
    assertFalse(c3.ping(NetnsLab.web(0)).reached());
  }

  @Test
  void nameWhoseAddressChanges_isReachedAtTheNewAddress_andNotAtTheOld() throws Exception {
    LabContainer c1 = lab.container(1);
    Rules rules = attach(c1.endpoint(), policy(apiPolicy()));
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));

    lab.names().set(API, Duration.ofSeconds(2), NetnsLab.web(1));
    HostName api = HostName.of(API);
    Rules refreshed =
        new Rules(
            rules.name(), rules.container(), rules.policy(), lab.names().resolve(Set.of(api)));
    backend.refreshAddresses(refreshed.name(), refreshed.plan(), Set.of(api));

    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(1), 443));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 443));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.webV6(0), 443));
    assertTrue(backend.isIntact(refreshed.name(), refreshed.plan()));
    assertFalse(backend.isIntact(rules.name(), rules.plan()));
  }

  @Test
  void isIntact_afterInstall_andNotAfterSomeoneAddsARule() throws Exception {
    LabContainer c1 = lab.container(1);
    EgressPolicy policy =
        policy(
            apiPolicy()
                + "allow gateway port 3001 proto tcp\n"
                + "allow fd00:99::/64 port 8000-9000 proto tcp\nallow 10.99.0.12 port 1-65535 proto udp\n"
                + "log denied\n");
    Rules rules = attach(c1.endpoint(), policy);
    assertTrue(backend.isIntact(rules.name(), rules.plan()));
    assertEquals(Map.of(rules.name(), c1.endpoint().addresses()), backend.installed());

    lab.exec(
        lab.hostNamespace(),
        "nft",
        "insert",
        "rule",
        "inet",
        "egress",
        rules.name().value(),
        "accept");

    assertFalse(backend.isIntact(rules.name(), rules.plan()));
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(1), 80), "the tampered rule lets it out");
  }

  @Test
  void hostProblems_areNone_afterPrepare_andNamed_whenTheTableIsDeleted() throws Exception {
    assertEquals(List.of(), backend.hostProblems());
    lab.exec(lab.hostNamespace(), "nft", "delete", "table", "inet", "egress");
    try {
      List<String> problems = backend.hostProblems();
      assertEquals(1, problems.size(), problems.toString());
      assertTrue(problems.get(0).contains("missing"), problems.get(0));
    } finally {
      backend.prepare();
    }
    assertEquals(List.of(), backend.hostProblems());
  }

  @Test
  void prepare_again_keepsAttachedContainersEnforced() throws Exception {
    LabContainer c1 = lab.container(1);
    Rules rules = attach(c1.endpoint(), policy(apiPolicy()));
    backend.prepare();
    assertTrue(backend.isIntact(rules.name(), rules.plan()));
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
  }

  @Test
  void deniedPackets_areCounted() throws Exception {
    LabContainer c1 = lab.container(1);
    Rules rules = attach(c1.endpoint(), policy(apiPolicy()));
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(2), 443));
    String chain =
        lab.exec(
            lab.hostNamespace(), "nft", "list", "chain", "inet", "egress", rules.name().value());
    String last = chain.lines().filter(l -> l.contains("goto deny")).findFirst().orElseThrow();
    assertFalse(last.contains("packets 0 "), last);
  }

  @Test
  void remove_ofAnAbsentRuleSet_isNoError_andLeavesOthersInPlace() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), policy(apiPolicy()));
    backend.remove(
        backend.ruleSetName(ContainerId.of("never-attached")), List.of(lab.container(3).ipv4()));
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
  }

  @Test
  void install_thatConflictsWithAnotherContainersAddress_failsAndChangesNothing() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), policy(apiPolicy()));
    NftException failure =
        org.junit.jupiter.api.Assertions.assertThrows(
            NftException.class,
            () ->
                attach(
                    c1.endpointAs(ContainerId.of("impostor")),
                    policy("allow 10.99.0.0/24 port 1-65535 proto tcp\n")));
    assertEquals(NftException.Kind.CONFLICT, failure.kind());
    assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
    assertEquals(Set.of(backend.ruleSetName(c1.id())), backend.installed().keySet());
  }

  @Test
  void dnsNone_refusesEveryResolver() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), policy("allow " + API + " port 443 proto tcp\ndns none\n"));
    assertFalse(c1.dnsQuery(NetnsLab.dnsServer(), API).reached());
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
  }

  @Test
  void dnsViaGateway_allowsOnlyTheGatewayAsResolver() throws Exception {
    LabContainer c1 = lab.container(1);
    attach(c1.endpoint(), new EgressPolicy(List.of(), DnsRule.gateway(), false));
    assertFalse(c1.dnsQuery(NetnsLab.dnsServer(), API).reached());
    assertEquals(Outcome.REACHED, c1.dnsQuery(lab.gateway(), API));
  }
}
