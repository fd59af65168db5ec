package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.nftables.NftBackend;
import dev.egress.nftables.NftCommand;
import dev.egress.nftables.NftGuard;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import dev.egress.process.SystemProcessRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RenderCommandTest {
  @TempDir Path dir;
  private Path policy;

  @BeforeEach
  void writePolicy() throws IOException {
    policy =
        Files.writeString(
            dir.resolve("agent.policy"),
            "allow api.anthropic.com port 443\nallow 160.79.104.0/23 port 443\nallow gateway port 3001\n"
                + "dns gateway\nlog denied\n");
  }

  private Cli.Result render(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "render";
    System.arraycopy(args, 0, all, 1, args.length);
    return new Cli().run(all);
  }

  @Test
  void render_pfChild_printsTheAnchorAndSaysWhereItWouldGo() {
    Cli.Result result =
        render(
            "--backend",
            "pf",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--gateway",
            "192.168.64.1",
            "--id",
            "agent-1");

    assertEquals(0, result.exit(), result.err());
    assertEquals(
        """
        table <tcp_443> persist { 160.79.104.0/23 }
        pass in quick inet proto tcp from 192.168.64.3 to 192.168.64.1 port = 53
        pass in quick inet proto udp from 192.168.64.3 to 192.168.64.1 port = 53
        pass in quick inet proto tcp from 192.168.64.3 to <tcp_443> port = 443
        pass in quick inet proto tcp from 192.168.64.3 to 192.168.64.1 port = 3001
        block return in log quick inet from 192.168.64.3 to any
        """,
        result.out());
    assertEquals(
        """
        # host names not resolved (--no-resolve), so their tables are empty: api.anthropic.com; pass --resolve to fill them
        # would be loaded with: pfctl -a com.apple/000.egress/agent-1 -f -
        """,
        result.err());
  }

  @Test
  void render_pfChild_ofADockerStyleId_printsAnAnchorPathPfctlCanLoad() {
    String id = "8f14e45fceea167a5a36dedd4bea2543aa1f3c3b1e5c1f0e3f2b9a1c4d5e6f70";
    Cli.Result result =
        render(
            "--backend",
            "pf",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--gateway",
            "192.168.64.1",
            "--id",
            id);

    assertEquals(0, result.exit(), result.err());
    String path =
        result
            .err()
            .lines()
            .filter(l -> l.startsWith("# would be loaded with: pfctl -a "))
            .findFirst()
            .orElseThrow()
            .split(" ")[7];
    assertTrue(path.startsWith("com.apple/000.egress/" + id.substring(0, 29) + "."), path);
    assertEquals(63, path.length(), path + ": pfctl loads paths of at most 63 characters");
  }

  @Test
  void render_pfWithAParentThatLeavesNoRoomForNames_isAUsageError() {
    Cli.Result result =
        render(
            "--backend",
            "pf",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--gateway",
            "192.168.64.1",
            "--anchor",
            "com.apple/" + "x".repeat(40));

    assertEquals(2, result.exit(), result.err());
    assertTrue(result.err().contains("leaves 12 for container anchor names"), result.err());
  }

  @Test
  void render_withIpv6_coversBothFamilies() {
    Cli.Result result =
        render(
            "--backend",
            "pf",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--ip6",
            "fd00:64::3",
            "--gateway",
            "192.168.64.1",
            "-q");

    assertEquals(0, result.exit(), result.err());
    assertTrue(
        result.out().endsWith("block return in log quick inet6 from fd00:64::3 to any\n"),
        result.out());
    assertEquals("", result.err(), "-q silences the notes");
  }

  @Test
  void render_resolve_fillsTablesFromDns() throws IOException {
    try (TestDnsServer dns = TestDnsServer.start()) {
      dns.setAddresses(
          "api.anthropic.com", Duration.ofMinutes(5), "160.79.104.10", "2607:6bc0::10");

      Cli.Result result =
          render(
              "--backend",
              "pf",
              "--policy",
              policy.toString(),
              "--ip",
              "192.168.64.3",
              "--gateway",
              "192.168.64.1",
              "--resolve",
              "--dns-server",
              "127.0.0.1:" + dns.address().getPort());

      assertEquals(0, result.exit(), result.err());
      assertTrue(
          result
              .out()
              .startsWith(
                  "table <tcp_443> persist { 160.79.104.0/23, 160.79.104.10, 2607:6bc0::10 }\n"),
          result.out());
      assertEquals(
          "# would be loaded with: pfctl -a com.apple/000.egress/example -f -\n", result.err());
    }
  }

  @Test
  void render_resolve_nameWithoutAddresses_tableStaysEmptyAndSaysSo() throws IOException {
    Path only =
        Files.writeString(dir.resolve("only.policy"), "allow gone.example port 443\ndns none\n");
    try (TestDnsServer dns = TestDnsServer.start()) {
      dns.setAddresses("gone.example", Duration.ofMinutes(5));

      Cli.Result result =
          render(
              "--backend",
              "pf",
              "--policy",
              only.toString(),
              "--ip",
              "192.168.64.3",
              "--resolve",
              "--dns-server",
              "127.0.0.1:" + dns.address().getPort());

      assertEquals(0, result.exit(), result.err());
      assertTrue(
          result
              .err()
              .startsWith(
                  "# gone.example resolved to nothing: its table is empty (nothing to it is allowed)\n"),
          result.err());
    }
  }

  @Test
  void render_parentWithGuard() {
    Cli.Result result =
        render(
            "--backend", "pf", "--parent", "--guard", "192.168.70.0/24", "--bridge", "bridge101");

    assertEquals(0, result.exit(), result.err());
    assertEquals(
        """
        rdr-anchor "*"
        anchor "*"
        pass in quick on bridge101 inet6 proto icmp6 from :: to ff02::1:ff00:0/104 icmp6-type 135 no state
        pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to fe80::/10 icmp6-type 135 no state
        pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to fe80::/10 icmp6-type 136 no state
        pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::1 icmp6-type 135 no state
        pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::1 icmp6-type 136 no state
        pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::1:ff00:0/104 icmp6-type 135 no state
        pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::1:ff00:0/104 icmp6-type 136 no state
        pass in quick on bridge101 inet6 proto icmp6 from fe80::/10 to ff02::2 icmp6-type 133 no state
        pass out quick on bridge101 inet proto tcp from (bridge101) to 192.168.70.0/24 flags S/SA keep state
        pass out quick on bridge101 inet proto udp from (bridge101) to 192.168.70.0/24 keep state
        block return in quick on ! lo0 inet from 192.168.70.0/24 to any
        block return in quick on bridge101 all
        """,
        result.out());
    assertEquals("# would be loaded with: pfctl -a com.apple/000.egress -f -\n", result.err());
  }

  @Test
  void render_policyUsesGatewayButNoneGiven_exitsOne() {
    Cli.Result result =
        render("--backend", "pf", "--policy", policy.toString(), "--ip", "192.168.64.3");

    assertEquals(1, result.exit());
    assertEquals(
        "egressctl: "
            + policy
            + " uses the gateway (as a destination or as DNS resolver), so"
            + " attach needs it: pass --gateway ADDR\n",
        result.err());
    assertEquals("", result.out());
  }

  @Test
  void render_wildcardHostOnPf_exitsOneWithTheRenderersReason() throws IOException {
    Path wildcard =
        Files.writeString(dir.resolve("w.policy"), "allow *.example.com port 443\ndns none\n");

    Cli.Result result =
        render("--backend", "pf", "--policy", wildcard.toString(), "--ip", "192.168.64.3");

    assertEquals(1, result.exit());
    assertTrue(
        result
            .err()
            .startsWith(
                "egressctl: pf cannot enforce "
                    + wildcard
                    + ": the policy needs a DNS filter for the wildcard host names *.example.com,"
                    + " and the pf enforcer was built without one"),
        result.err());
  }

  @Test
  void render_invalidPolicy_exitsOneWithPositions() throws IOException {
    Path bad = Files.writeString(dir.resolve("bad.policy"), "allow example.com port 99999\n");

    Cli.Result result =
        render("--backend", "pf", "--policy", bad.toString(), "--ip", "192.168.64.3");

    assertEquals(1, result.exit());
    assertTrue(result.err().startsWith(bad + ":1:24: "), result.err());
  }

  @Test
  void render_loopbackContainerAddress_exitsOne() {
    Cli.Result result =
        render(
            "--backend",
            "pf",
            "--policy",
            policy.toString(),
            "--ip",
            "127.0.0.1",
            "--gateway",
            "192.168.64.1");

    assertEquals(1, result.exit());
    assertEquals(
        "egressctl: container example cannot have the address 127.0.0.1 (unspecified, loopback or"
            + " multicast)\n",
        result.err());
  }

  @Test
  void render_nft_printsExactlyWhatTheBackendsPrepareAndInstallLoad() throws Exception {
    Cli.Result result =
        render(
            "--backend",
            "nft",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--ip6",
            "fd00:64::3",
            "--gateway",
            "192.168.64.1",
            "--id",
            "agent-1",
            "--table",
            "egress_test",
            "--guard-network",
            "192.168.64.0/24");

    assertEquals(0, result.exit(), result.err());
    assertEquals(
        loadedByAttach(
            "agent-1",
            "egress_test",
            new NftGuard(List.of(), List.of(IpNetwork.parse("192.168.64.0/24")), false)),
        result.out());
    assertTrue(result.out().contains("table inet egress_test"), result.out());
    assertTrue(
        result.out().contains("192.168.64.3") && result.out().contains("fd00:64::3"), result.out());
    assertTrue(
        result
            .err()
            .endsWith(
                "# would be loaded with: nft -f - (the table and base chains by the first"
                    + " attach, then the container's rules by its attach)\n"),
        result.err());
  }

  /**
   * What an NftBackend sends to {@code nft -f -} for prepare and install, recorded by a stand-in
   * nft.
   */
  private String loadedByAttach(String id, String table, NftGuard guard) throws Exception {
    Path recorded = dir.resolve("nft-input");
    Path nft = Files.writeString(dir.resolve("nft"), "#!/bin/bash\ncat >> '" + recorded + "'\n");
    NftBackend backend =
        new NftBackend(
            new NftCommand(
                new SystemProcessRunner(),
                List.of("bash", nft.toString()),
                List.of("false"),
                Duration.ofSeconds(10)),
            table,
            guard);
    ContainerEndpoint container =
        new ContainerEndpoint(
            ContainerId.of(id),
            List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00:64::3")),
            IpAddresses.parse("192.168.64.1"));
    backend.prepare();
    backend.install(
        backend.ruleSetName(container.id()),
        EnforcementPlan.of(PolicyText.read(policy), container, Resolutions.none()));
    return Files.readString(recorded);
  }

  @Test
  void render_wildcardHostOnNft_exitsOneWithTheBackendsReason() throws IOException {
    Path wildcard =
        Files.writeString(dir.resolve("w.policy"), "allow *.example.com port 443\ndns none\n");

    Cli.Result result =
        render("--backend", "nft", "--policy", wildcard.toString(), "--ip", "192.168.64.3");

    assertEquals(1, result.exit());
    assertEquals("", result.out());
    assertTrue(
        result
            .err()
            .startsWith(
                "egressctl: nftables cannot enforce "
                    + wildcard
                    + ": the policy needs a DNS filter for the wildcard host names *.example.com,"
                    + " and the nftables enforcer was built without one"),
        result.err());
  }

  @Test
  void render_usageErrors_exitTwo() {
    assertUsage(
        render("--backend", "nft", "--parent"),
        "--parent, --guard, --bridge and --log-guard are pf's");
    assertUsage(
        render(
            "--backend",
            "nft",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--guard",
            "10.0.0.0/8"),
        "--parent, --guard, --bridge and --log-guard are pf's");
    assertUsage(
        render("--backend", "pf", "--policy", policy.toString()),
        "--policy and --ip are required (unless --parent)");
    assertUsage(
        render("--backend", "pf", "--policy", policy.toString(), "--ip", "fd00::3"),
        "--ip takes the IPv4 address; give fd00::3 with --ip6");
    assertUsage(
        render(
            "--backend",
            "pf",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--ip6",
            "10.0.0.1"),
        "--ip6 takes an IPv6 address, not 10.0.0.1");
    assertUsage(
        render("--backend", "pf", "--policy", policy.toString(), "--ip", "192.168.64.300"),
        "Invalid value for option '--ip': '192.168.64.300' is not an IPv4 address: part 4 ('300') must be a number 0-255");
    assertUsage(
        render(
            "--backend",
            "pf",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--guard",
            "10.0.0.0/8"),
        "--guard, --bridge and --log-guard go with --parent");
    assertUsage(
        render("--backend", "pf", "--parent", "--bridge", "bridge101"),
        "--bridge needs --guard SUBNET");
    assertUsage(
        render("--backend", "pf", "--parent", "--guard", "0.0.0.0/0"),
        "0.0.0.0/0 is every address of its family, not a container network");
    for (String notBelowComApple : List.of("com.apple", "egress", "com.applex/egress")) {
      assertUsage(
          render("--backend", "pf", "--parent", "--anchor", notBelowComApple),
          "'" + notBelowComApple + "' is not below com.apple/");
    }
    assertUsage(
        render(
            "--backend",
            "pf",
            "--policy",
            policy.toString(),
            "--ip",
            "192.168.64.3",
            "--gateway",
            "192.168.64.1",
            "--resolve",
            "--dns-server",
            "dns.example"),
        "--dns-server takes ADDR, ADDR:PORT or [IPV6]:PORT, not 'dns.example'");
  }

  private static void assertUsage(Cli.Result result, String start) {
    assertEquals(2, result.exit(), result.err());
    assertTrue(result.err().startsWith(start), result.err());
    assertTrue(result.err().contains("Usage: egressctl render"), result.err());
  }
}
