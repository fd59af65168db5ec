package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.LabRequirement;
import java.io.IOException;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The paths around a container's own chain, on the real kernel: the link-local addresses every
 * container has, the host reaching its own bridge address, and a container that takes over the
 * address of one whose launcher crashed. Each test starts without the enforcer's table.
 */
class NftHostPathKernelTest {
  private static NetnsLab lab;

  /** The guards a host may run with. */
  enum Guard {
    NONE,
    NETWORKS_ONLY,
    BRIDGE_AND_NETWORKS;

    NftGuard of(NetnsLab lab) {
      switch (this) {
        case NONE:
          return NftGuard.none();
        case NETWORKS_ONLY:
          return new NftGuard(List.of(), lab.containerNetworks(), false);
        default:
          return LabNft.guard(lab);
      }
    }
  }

  @BeforeAll
  static void startLab() throws Exception {
    lab = LabRequirement.startLab(2, "nft", "conntrack");
  }

  @AfterAll
  static void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @BeforeEach
  @AfterEach
  void deleteTheTable() throws IOException {
    if (lab.exec(lab.hostNamespace(), "nft", "list", "tables").contains("inet egress")) {
      lab.exec(lab.hostNamespace(), "nft", "delete", "table", "inet", "egress");
    }
  }

  private static NftEgressEnforcer enforcer(Guard guard) {
    return LabNft.enforcer(lab).resolver(new FakeNameResolver()).guard(guard.of(lab)).build();
  }

  /** Web 0 on 443, the gateway on 3001 over IPv4 and IPv6. */
  private static EgressPolicy policy() {
    return EgressPolicy.builder()
        .allowTcp(new Destination.Network(IpNetwork.host(NetnsLab.web(0))), 443)
        .allowTcp(Destination.gateway(), 3001)
        .allowTcp(new Destination.Network(IpNetwork.host(lab.gatewayV6())), 3001)
        .dns(DnsRule.none())
        .build();
  }

  @ParameterizedTest(name = "guard {0}")
  @EnumSource(
      value = Guard.class,
      names = {"NONE", "NETWORKS_ONLY"})
  void linkLocal_reachesNoHostService_onceAContainerIsAttachedOnTheLink(Guard guard)
      throws Exception {
    LabContainer c1 = lab.container(1);
    LabContainer c2 = lab.container(2);
    InetAddress host = lab.gatewayLinkLocal();
    assertEquals(Outcome.REACHED, c1.tcpOnLink(host, 2222), "the host listens on [::]");

    try (NftEgressEnforcer enforcer = enforcer(guard)) {
      enforcer.attach(c1.endpoint(), policy());

      assertEquals(Outcome.REFUSED, c1.tcpOnLink(host, 2222));
      assertEquals(
          Outcome.REFUSED,
          c1.tcpOnLink(host, 3001),
          "the policy gives the gateway's addresses, not the host's link-local one");
      assertEquals(Outcome.REFUSED, c2.tcpOnLink(host, 2222), "nor to anyone else on the link");
      // What the policy gives still works, IPv6 included: neighbour discovery passes.
      assertEquals(Outcome.REACHED, c1.tcp(lab.gateway(), 3001));
      assertEquals(Outcome.REACHED, c1.tcp(lab.gatewayV6(), 3001));
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      assertEquals(Outcome.REFUSED, c1.tcp(lab.gatewayV6(), 2222));
      if (guard == Guard.NONE) {
        assertEquals(
            Outcome.REACHED,
            c2.tcp(lab.gateway(), 2222),
            "without a guard an unattached container keeps its other addresses' network");
      }
    }
  }

  @Test
  void theHost_reachesItsOwnBridgeAddresses_underTheGuard() throws Exception {
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = enforcer(Guard.BRIDGE_AND_NETWORKS)) {
      enforcer.reconcile(Set.of()); // the guard is loaded
      assertEquals(Outcome.REFUSED, c1.tcp(lab.gateway(), 3001), "the guard holds");

      assertEquals(Outcome.REACHED, lab.hostTcp(lab.gateway(), 3001));
      assertEquals(Outcome.REACHED, lab.hostTcp(lab.gatewayV6(), 3001));
      assertEquals(Outcome.REACHED, lab.hostTcp(lab.gatewayLinkLocal(), 3001));
    }
  }

  @Test
  void theHostReachesAContainersService_itsRepliesPass_yetTheContainerOpensNothingNew()
      throws Exception {
    LabContainer c1 = lab.container(1);
    c1.listen(8080);
    try (NftEgressEnforcer enforcer = enforcer(Guard.BRIDGE_AND_NETWORKS)) {
      enforcer.attach(c1.endpoint(), policy());

      assertEquals(Outcome.REACHED, lab.hostTcp(c1.ipv4(), 8080), "the host's connection");
      assertEquals(Outcome.REACHED, lab.hostTcp(c1.ipv6(), 8080), "the host's connection, IPv6");
      assertEquals(
          Outcome.REFUSED, c1.tcp(lab.gateway(), 2222), "the container still opens only its own");
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 80));
    }
  }

  @Test
  void aForgedReplyToAFlowTheHostOpened_isRefusedAsSpoofed_notTakenForTheServersReply()
      throws Exception {
    LabContainer c1 = lab.container(1);
    int hostPort = 5354;
    lab.hostUdpEcho(lab.gateway(), hostPort);
    // The host's flow to a server on the internet: the kernel expects replies from that server.
    lab.exec(
        lab.hostNamespace(),
        "conntrack",
        "-I",
        "-p",
        "udp",
        "-s",
        IpAddresses.format(lab.gateway()),
        "-d",
        IpAddresses.format(NetnsLab.web(1)),
        "--sport",
        Integer.toString(hostPort),
        "--dport",
        Integer.toString(NetnsLab.UDP_PORT),
        "--timeout",
        "120");
    try (NftEgressEnforcer enforcer = enforcer(Guard.BRIDGE_AND_NETWORKS)) {
      enforcer.attach(c1.endpoint(), policy());

      c1.udpFromForged(NetnsLab.web(1), NetnsLab.UDP_PORT, lab.gateway(), hostPort);
      Thread.sleep(500);
      assertEquals(0, lab.receivedOnHost(hostPort), "the forged 'reply' reached the host");
      // The same datagram from the container's own address is no reply and its policy refuses it.
      c1.udp(lab.gateway(), hostPort);
      assertEquals(0, lab.receivedOnHost(hostPort));
    }
  }

  @Test
  void aContainerTakingOverACrashedLaunchersAddress_inheritsItsRulesOnlyUntilStartUpReconcile()
      throws Exception {
    LabContainer c2 = lab.container(2);
    NftBackend backend = LabNft.backend(lab, Guard.BRIDGE_AND_NETWORKS.of(lab));
    EgressPolicy wide =
        EgressPolicy.builder()
            .allow(
                new Destination.Network(IpNetwork.parse("10.99.0.0/24")),
                Protocol.TCP,
                new PortRange(1, 65535))
            .dns(DnsRule.none())
            .build();
    // The launcher attaches "crashed" and dies: its rules stay (close() leaves them, as a crash).
    NftEgressEnforcer crashed = enforcer(Guard.BRIDGE_AND_NETWORKS);
    crashed.attach(c2.endpointAs(ContainerId.of("crashed")), wide);
    crashed.close();

    // While no launcher runs, a successor gets the same address: it has the old container's rules.
    ContainerId successor = ContainerId.of("successor");
    assertEquals(Outcome.REACHED, c2.tcp(NetnsLab.web(1), 8443));

    try (NftEgressEnforcer restarted = enforcer(Guard.BRIDGE_AND_NETWORKS)) {
      ReconcileResult result = restarted.reconcile(Set.of(successor));

      RuleSetName old = backend.ruleSetName(ContainerId.of("crashed"));
      assertEquals(Set.of(Subject.unowned(old)), result.removed());
      Map<RuleSetName, List<InetAddress>> installed = backend.installed();
      assertEquals(Map.of(), installed);
      assertEquals(Outcome.REFUSED, c2.tcp(NetnsLab.web(1), 8443), "the guard holds it now");
    }
  }
}
