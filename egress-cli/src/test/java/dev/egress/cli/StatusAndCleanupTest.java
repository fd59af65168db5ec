package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.testkit.pf.FakePfctl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** status and cleanup against rule sets the real pf enforcer loaded into the fake pfctl. */
class StatusAndCleanupTest {
  private final FakeHost host = new FakeHost();

  private Cli.Result run(String... args) {
    return new Cli().processes(host).run(args);
  }

  @Test
  void status_listsRuleSetsAddressesTablesAndTraffic() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", "fd00:64::3");
    PfAttached.attach(host, "agent-2", "192.168.64.4", null);
    String child = "com.apple/000.egress/agent-1";
    List<String> rules = host.pf.anchor(child).orElseThrow().rules();
    assertTrue(
        rules.get(0).startsWith("pass ") && rules.get(14).startsWith("block "), rules.toString());
    host.pf.count(child, 0, 40, 9000).count(child, 14, 1, 80);

    Cli.Result result = run("status", "--backend", "pf", "--pfctl-command", "/sbin/pfctl");

    assertEquals(0, result.exit(), result.out() + result.err());
    assertEquals(
        """
        agent-1  192.168.64.3 fd00:64::3  (15 rules in com.apple/000.egress/agent-1)
          <tcp_443> 160.79.104.10
          allowed 40 packets (9000 bytes), refused 1 packets (80 bytes)
        agent-2  192.168.64.4  (5 rules in com.apple/000.egress/agent-2)
          <tcp_443> 160.79.104.10
          allowed 0 packets (0 bytes), refused 0 packets (0 bytes)
        2 rule sets in pf
        """,
        result.out());
  }

  @Test
  void status_json() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);

    Cli.Result result =
        run("status", "--backend", "pf", "--pfctl-command", "/sbin/pfctl", "--json");

    assertEquals(0, result.exit(), result.err());
    assertEquals(
        "{\"backend\":\"pf\",\"ruleSets\":[{\"name\":\"agent-1\",\"location\":\"com.apple/000.egress/agent-1\","
            + "\"addresses\":[\"192.168.64.3\"],\"rules\":5,\"tables\":{\"tcp_443\":[\"160.79.104.10\"]},"
            + "\"traffic\":{\"allowedPackets\":0,\"allowedBytes\":0,\"refusedPackets\":0,\"refusedBytes\":0}}],"
            + "\"drift\":[]}\n",
        result.out());
  }

  @Test
  void status_nothingAttached_exitsZero() {
    host.pf.enableByOthers();

    Cli.Result result = run("status", "--backend", "pf", "--pfctl-command", "/sbin/pfctl");

    assertEquals(0, result.exit(), result.err());
    assertEquals("0 rule sets in pf\n", result.out());
  }

  @Test
  void status_parentWipedAndPfDisabled_reportsDriftExitsOne() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);
    host.pf.wipeAnchor("com.apple/000.egress").disableByOthers();

    Cli.Result result = run("status", "--backend", "pf", "--pfctl-command", "/sbin/pfctl");

    assertEquals(1, result.exit());
    assertTrue(result.out().contains("drift: pf is disabled: no rule applies"), result.out());
    assertTrue(
        result
            .out()
            .contains("drift: the parent anchor com.apple/000.egress is missing or altered"),
        result.out());
  }

  @Test
  void status_pfctlFails_exitsThreeWithPfctlsWords() {
    host.pf.failOn("-s Anchors", 0, 1, "pfctl: DIOCGETRULESETS: Permission denied");

    Cli.Result result = run("status", "--backend", "pf", "--pfctl-command", "/sbin/pfctl");

    assertEquals(3, result.exit());
    assertTrue(result.err().startsWith("egressctl: "), result.err());
    assertTrue(result.err().contains("Permission denied"), result.err());
  }

  // Counters unreadable (say, a sudo wrapper generated before they existed) must not hide the rule
  // sets and the drift, which are what status is for.
  @Test
  void status_ruleStatisticsUnreadable_stillReportsRuleSetsAndDrift_andSaysWhy() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);
    host.pf.failOn("-v -s rules", 0, 1, "pfctl: DIOCGETRULES: Permission denied");
    host.pf.disableByOthers();

    Cli.Result result = run("status", "--backend", "pf", "--pfctl-command", "/sbin/pfctl");

    assertEquals(1, result.exit(), result.out() + result.err());
    assertTrue(result.out().startsWith("agent-1  192.168.64.3  (5 rules in "), result.out());
    assertTrue(result.out().contains("drift: pf is disabled"), result.out());
    assertFalse(result.out().contains("allowed "), result.out());
    assertTrue(result.err().contains("traffic counters not read: "), result.err());
    assertTrue(result.err().contains("Permission denied"), result.err());
  }

  @Test
  void status_json_ruleStatisticsUnreadable_saysSoInTrafficError() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);
    host.pf.failOn("-v -s rules", 0, 1, "pfctl: DIOCGETRULES: Permission denied");

    Cli.Result result =
        run("status", "--backend", "pf", "--pfctl-command", "/sbin/pfctl", "--json");

    assertEquals(0, result.exit(), result.err());
    assertTrue(result.out().contains("\"name\":\"agent-1\""), result.out());
    assertFalse(result.out().contains("\"traffic\":"), result.out());
    assertTrue(result.out().contains("\"trafficError\":\""), result.out());
    assertTrue(result.out().contains("Permission denied"), result.out());
  }

  @Test
  void cleanup_dryRun_listsStaleRuleSetsAndChangesNothing() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);
    PfAttached.attach(host, "agent-2", "192.168.64.4", null);
    host.pf.clearCalls();

    Cli.Result result =
        run("cleanup", "--backend", "pf", "--pfctl-command", "/sbin/pfctl", "--live", "agent-1");

    assertEquals(1, result.exit());
    assertEquals(
        "would remove agent-2 (com.apple/000.egress/agent-2, 192.168.64.4)\n", result.out());
    assertEquals("dry run: pass --yes to remove it\n", result.err());
    for (FakePfctl.Call call : host.pf.calls()) {
      assertTrue(
          call.line().endsWith("-s Anchors")
              || call.line().endsWith("-s rules")
              || call.line().endsWith("-T show"),
          "dry run changed pf: " + call.line());
    }
  }

  @Test
  void cleanup_yes_removesStaleRuleSetsAndKillsTheirConnections() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);
    PfAttached.attach(host, "agent-2", "192.168.64.4", null);
    host.pf.openConnection(IpAddresses.parse("192.168.64.4"), IpAddresses.parse("160.79.104.10"));
    host.pf.openConnection(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("160.79.104.10"));

    Cli.Result result =
        run(
            "cleanup",
            "--backend",
            "pf",
            "--pfctl-command",
            "/sbin/pfctl",
            "--live",
            "agent-1",
            "--yes",
            "--no-guard");

    assertEquals(0, result.exit(), result.err());
    assertEquals("removed agent-2 (com.apple/000.egress/agent-2, 192.168.64.4)\n", result.out());
    assertTrue(
        host.pf.anchor("com.apple/000.egress/agent-2").map(FakePfctl.Anchor::isEmpty).orElse(true));
    assertFalse(
        host.pf.anchor("com.apple/000.egress/agent-1").orElseThrow().isEmpty(),
        "the live container keeps its rules");
    assertEquals(
        List.of(
            new FakePfctl.Connection(
                IpAddresses.parse("192.168.64.3"), IpAddresses.parse("160.79.104.10"))),
        List.copyOf(host.pf.connections()));
    assertEquals(List.of(), host.pf.refusedCalls());

    Cli.Result again =
        run("cleanup", "--backend", "pf", "--pfctl-command", "/sbin/pfctl", "--live", "agent-1");
    assertEquals(0, again.exit());
    assertEquals("nothing to clean up: every rule set belongs to a live container\n", again.out());
  }

  @Test
  void cleanup_noneLive_removesEverything() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);

    Cli.Result result =
        run(
            "cleanup",
            "--backend",
            "pf",
            "--pfctl-command",
            "/sbin/pfctl",
            "--none-live",
            "--yes",
            "--no-guard");

    assertEquals(0, result.exit(), result.err());
    assertEquals("removed agent-1 (com.apple/000.egress/agent-1, 192.168.64.3)\n", result.out());
  }

  @Test
  void cleanup_removalFails_exitsThreeAndSaysWhat() throws Exception {
    PfAttached.attach(host, "agent-2", "192.168.64.4", null);
    host.pf.failOn(
        "-a com.apple/000.egress/agent-2 -F all", 0, 1, "pfctl: DIOCXBEGIN: Device busy");

    Cli.Result result =
        run(
            "cleanup",
            "--backend",
            "pf",
            "--pfctl-command",
            "/sbin/pfctl",
            "--none-live",
            "--yes",
            "--no-guard");

    assertEquals(3, result.exit());
    assertTrue(result.err().startsWith("egressctl: reconcile did not finish: "), result.err());
    assertFalse(
        host.pf.anchor("com.apple/000.egress/agent-2").orElseThrow().isEmpty(),
        "the failed removal left the rules");
  }

  @Test
  void cleanup_withoutSayingWhatRuns_isUsageErrorTwo() {
    Cli.Result neither = run("cleanup", "--backend", "pf");
    Cli.Result both = run("cleanup", "--backend", "pf", "--live", "a", "--none-live");

    assertEquals(2, neither.exit());
    assertTrue(
        neither
            .err()
            .startsWith(
                "say which containers still run: --live ID... (or --none-live when none does)"),
        neither.err());
    assertEquals(2, both.exit());
    assertTrue(both.err().startsWith("--live and --none-live exclude each other"), both.err());
    assertTrue(host.pf.calls().isEmpty());
  }

  private static final String GUARDED_CONFIG =
      "backend pf\nmanaged-network 192.168.64.0/24\nguard-interfaces bridge100\n"
          + "allow-users root\n";

  @Test
  void cleanup_yes_withTheGuardUnknown_refusesAndLoadsNothing() throws Exception {
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);
    List<String> parentBefore = host.pf.anchor("com.apple/000.egress").orElseThrow().rules();

    Cli.Result result =
        run("cleanup", "--backend", "pf", "--pfctl-command", "/sbin/pfctl", "--none-live", "--yes");

    assertEquals(2, result.exit(), result.out());
    assertTrue(result.err().contains("the guard the enforcer runs with is unknown"), result.err());
    assertTrue(result.err().contains("--config FILE"), result.err());
    assertFalse(host.pf.anchor("com.apple/000.egress/agent-1").orElseThrow().isEmpty());
    assertEquals(parentBefore, host.pf.anchor("com.apple/000.egress").orElseThrow().rules());
  }

  @Test
  void cleanup_yes_withTheConfig_keepsTheGuard_andStatusSeesItsLoss(@TempDir Path dir)
      throws Exception {
    Path config = Files.writeString(dir.resolve("egressd.conf"), GUARDED_CONFIG);
    PfAttached.attach(host, "agent-1", "192.168.64.3", null);
    String[] pf = {"--backend", "pf", "--pfctl-command", "/sbin/pfctl"};

    Cli.Result cleanup = run(concat("cleanup", pf, "--none-live", "--yes", "--config", config));
    Cli.Result status = run(concat("status", pf, "--config", config));

    assertEquals(0, cleanup.exit(), cleanup.err());
    assertTrue(
        String.join("\n", host.pf.anchor("com.apple/000.egress").orElseThrow().rules())
            .contains("192.168.64.0/24"),
        "the guard is still in the parent anchor");
    assertEquals(0, status.exit(), status.out() + status.err());

    // The guard removed behind egressd's back: an unguarded enforcer reloads the parent.
    PfAttached.attach(host, "agent-2", "192.168.64.4", null);
    Cli.Result drift = run(concat("status", pf, "--config", config));

    assertEquals(1, drift.exit(), drift.out() + drift.err());
    assertTrue(drift.out().contains("is missing or altered (its guard included)"), drift.out());
  }

  @Test
  void cleanup_configAndNoGuard_together_isUsageErrorTwo(@TempDir Path dir) throws Exception {
    Path config = Files.writeString(dir.resolve("egressd.conf"), GUARDED_CONFIG);

    Cli.Result result =
        run(
            "cleanup",
            "--backend",
            "pf",
            "--none-live",
            "--yes",
            "--no-guard",
            "--config",
            config.toString());

    assertEquals(2, result.exit());
    assertTrue(result.err().contains("--config and --no-guard"), result.err());
    assertTrue(host.pf.calls().isEmpty());
  }

  private static String[] concat(String command, String[] options, Object... more) {
    List<String> all = new ArrayList<>();
    all.add(command);
    all.addAll(List.of(options));
    for (Object word : more) {
      all.add(word.toString());
    }
    return all.toArray(String[]::new);
  }
}
