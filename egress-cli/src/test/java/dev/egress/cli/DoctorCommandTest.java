package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.testkit.pf.FakePfctl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DoctorCommandTest {
  private static final String WRAPPER = SudoersCommand.DEFAULT_WRAPPER;

  @TempDir Path dir;

  private final FakeHost host = new FakeHost().network("egress");

  private void loadParent() {
    assertEquals(
        0,
        host.pf
            .execute(List.of("pfctl", "-a", "com.apple/000.egress", "-f", "-"), "anchor \"*\"\n")
            .exitCode());
  }

  private void loadChild(String name) {
    assertEquals(
        0,
        host.pf
            .execute(
                List.of("pfctl", "-a", "com.apple/000.egress/" + name, "-f", "-"),
                "pass in quick inet proto tcp from 192.168.64.3 to 160.79.104.10 port 443\n"
                    + "block return in quick inet from 192.168.64.3 to any\n")
            .exitCode());
  }

  private Cli.Result doctor(String... extra) {
    List<String> args =
        new java.util.ArrayList<>(List.of("doctor", "--backend", "pf", "--network", "egress"));
    args.addAll(List.of(extra));
    return new Cli().processes(host).run(args.toArray(String[]::new));
  }

  /** The library's call forms as sudo -l is asked for them, through the wrapper. */
  private static Set<String> wrapperCalls() {
    String child = "com.apple/000.egress/egressctl-doctor-probe";
    return List.of(
            "-s info",
            "-s rules",
            "-E",
            "-a com.apple/000.egress -s Anchors",
            "-a com.apple/000.egress -f -",
            "-a " + child + " -f -",
            "-a " + child + " -s rules",
            "-a " + child + " -F all",
            "-a " + child + " -t probe -T show",
            "-a " + child + " -t probe -T replace -f -",
            "-k 192.0.2.1",
            "-k 0.0.0.0/0 -k 192.0.2.1")
        .stream()
        .map(line -> WRAPPER + " " + line)
        .collect(Collectors.toSet());
  }

  private void assertOnlyReadCalls() {
    for (FakePfctl.Call call : host.pf.calls()) {
      String line = call.line();
      assertTrue(
          line.equals("-s info")
              || line.endsWith("-s rules")
              || line.endsWith("-s Anchors")
              || line.endsWith("-T show"),
          "doctor changed pf: " + line);
    }
  }

  @Test
  void doctor_healthyHostThroughTheWrapper_exitsZero() {
    host.pf.enableByOthers();
    loadParent();
    host.sudoAllowsOnly(wrapperCalls());
    host.pf.clearCalls();

    Cli.Result result = doctor("--pfctl-command", "sudo -n " + WRAPPER);

    assertEquals(0, result.exit(), result.out());
    assertEquals(
        String.join(
            "\n",
            "ok    sudo: sudo -n allows each of the library's 12 pfctl call forms",
            "ok    pfctl runs: sudo -n " + WRAPPER + " -s info succeeded",
            "ok    pf enabled: pfctl -s info says Status: Enabled",
            "ok    main ruleset hook: the main ruleset holds anchor \"com.apple/*\"",
            "ok    parent anchor: com.apple/000.egress is loaded and evaluates its children",
            "ok    managed network: container network egress exists",
            "this host can enforce egress policies with pf",
            ""),
        result.out());
    assertOnlyReadCalls();
  }

  @Test
  void doctor_quiet_printsOnlyTheVerdict() {
    host.pf.enableByOthers();
    loadParent();

    Cli.Result result = doctor("-q", "--pfctl-command", "/sbin/pfctl");

    assertEquals(0, result.exit());
    assertEquals("this host can enforce egress policies with pf\n", result.out());
  }

  @Test
  void doctor_mainRulesetLostTheAppleHook_cannotEnforceExitsThreeWithFix() {
    host.pf.enableByOthers().unhookMainRuleset();
    loadParent();

    Cli.Result result = doctor("--pfctl-command", "/sbin/pfctl");

    assertEquals(3, result.exit());
    assertTrue(
        result
            .out()
            .contains("FAIL  main ruleset hook: the main ruleset has no 'anchor \"com.apple/*\"'"),
        result.out());
    assertTrue(result.out().contains("      fix: restore the stock /etc/pf.conf"), result.out());
    assertTrue(
        result
            .out()
            .endsWith("this host cannot enforce egress policies with pf: 1 problem to fix\n"),
        result.out());
  }

  @Test
  void doctor_sudoAsksForPassword_exitsThreeAndPointsAtSudoers() {
    host.sudoNeedsPassword();

    Cli.Result result = doctor();

    assertEquals(3, result.exit());
    assertTrue(
        result
            .out()
            .contains(
                "FAIL  pfctl runs: sudo asks for a password to run pfctl\n"
                    + "      fix: install a sudoers entry for the library's calls: see 'egressctl sudoers --help'\n"),
        result.out());
    assertTrue(host.pf.calls().isEmpty(), "no pfctl ran");
  }

  @Test
  void doctor_sudoRefusesSomeOfTheLibrarysCalls_exitsThreeNamingThem() {
    host.pf.enableByOthers();
    loadParent();
    Set<String> allowed = new java.util.HashSet<>(wrapperCalls());
    allowed.remove(WRAPPER + " -k 0.0.0.0/0 -k 192.0.2.1");
    host.sudoAllowsOnly(allowed);

    Cli.Result result = doctor("--pfctl-command", "sudo -n " + WRAPPER);

    assertEquals(3, result.exit());
    assertTrue(
        result
            .out()
            .contains("FAIL  sudo: sudo -n refuses " + WRAPPER + " -k 0.0.0.0/0 -k 192.0.2.1\n"),
        result.out());
  }

  @Test
  void doctor_withTheLongestParent_asksSudoAboutAProbeAnchorThatFits() {
    String parent = "com.apple/" + "p".repeat(38); // 48 characters, the longest parent
    host.sudoAllowsOnly(Set.of());

    Cli.Result result = doctor("--pfctl-command", "sudo -n " + WRAPPER, "--anchor", parent);

    assertEquals(3, result.exit(), result.out() + result.err());
    String refused =
        result.out().lines().filter(l -> l.startsWith("FAIL  sudo:")).findFirst().orElseThrow();
    String probe = refused.substring(refused.indexOf(parent + "/")).split(" ")[0];
    assertTrue(probe.length() <= 63, probe);
    assertTrue(probe.matches(".*/e\\.[0-9a-f]{12}"), probe);
  }

  @Test
  void doctor_sudoAllowsPfctlDisable_warnsAboutLeastPrivilege() {
    host.pf.enableByOthers();
    loadParent();
    host.sudoAllowsEverything();

    Cli.Result result = doctor();

    assertEquals(1, result.exit());
    assertTrue(
        result
            .out()
            .contains(
                "WARN  sudo least privilege: sudo also lets this user run pfctl -d,"
                    + " pfctl -F all, pfctl -f /etc/pf.conf: more than the library needs\n"),
        result.out());
  }

  @Test
  void doctor_stockMacNothingAttachedYet_canEnforce() {
    Cli.Result result = doctor("--pfctl-command", "/sbin/pfctl");

    assertEquals(0, result.exit(), result.out());
    assertTrue(
        result.out().contains("ok    pf enabled: pf is disabled; the enforcer enables it"),
        result.out());
    assertTrue(
        result.out().contains("ok    parent anchor: com.apple/000.egress is not loaded yet;"),
        result.out());
    assertOnlyReadCalls();
  }

  @Test
  void doctor_pfDisabledWhileRuleSetsLoaded_failClosedExitsThree() {
    host.pf.enableByOthers();
    loadParent();
    loadChild("agent-1");
    host.pf.disableByOthers();

    Cli.Result result = doctor("--pfctl-command", "/sbin/pfctl");

    assertEquals(3, result.exit(), result.out());
    assertTrue(
        result
            .out()
            .contains(
                "FAIL  pf enabled: pf is disabled while 1 container rule set(s) are loaded:"
                    + " no rule applies, those containers are unfiltered\n      fix: sudo pfctl -E"),
        result.out());
  }

  @Test
  void doctor_containerAnchorsWithoutParent_failClosedExitsThree() {
    host.pf.enableByOthers();
    loadChild("agent-1");

    Cli.Result result = doctor("--pfctl-command", "/sbin/pfctl");

    assertEquals(3, result.exit());
    assertTrue(
        result
            .out()
            .contains(
                "FAIL  parent anchor: com.apple/000.egress is missing or altered while 1"
                    + " container anchor(s) sit below it"),
        result.out());
  }

  @Test
  void doctor_loggingPolicyWithoutPflog0_warnsWithCreateCommand() throws IOException {
    host.pf.enableByOthers();
    loadParent();
    Path policy = Files.writeString(dir.resolve("log.policy"), "dns none\nlog denied\n");

    Cli.Result without = doctor("--pfctl-command", "/sbin/pfctl", "--policy", policy.toString());
    host.pflog();
    Cli.Result with = doctor("--pfctl-command", "/sbin/pfctl", "--policy", policy.toString());

    assertEquals(1, without.exit());
    assertTrue(
        without
            .out()
            .contains(
                "WARN  pflog0: a policy logs denials, but pflog0 does not exist"
                    + ": they go nowhere\n      fix: sudo ifconfig pflog0 create\n"),
        without.out());
    assertEquals(0, with.exit(), with.out());
  }

  @Test
  void doctor_managedNetworkMissing_warns() {
    host.pf.enableByOthers();
    loadParent();

    Cli.Result result =
        new Cli()
            .processes(host)
            .run(
                "doctor",
                "--backend",
                "pf",
                "--pfctl-command",
                "/sbin/pfctl",
                "--network",
                "agents");

    assertEquals(1, result.exit());
    assertTrue(
        result
            .out()
            .contains(
                "WARN  managed network: container network agents was not found\n"
                    + "      fix: create it: container network create agents --subnet SUBNET (macOS 26+)\n"),
        result.out());
  }

  @Test
  void doctor_json_listsEveryFindingWithItsFix() {
    host.pf.enableByOthers().unhookMainRuleset();
    loadParent();

    Cli.Result result = doctor("--json", "--pfctl-command", "/sbin/pfctl");

    assertEquals(3, result.exit());
    assertTrue(
        result
            .out()
            .startsWith(
                "{\"backend\":\"pf\",\"canEnforce\":false,\"findings\":["
                    + "{\"check\":\"sudo\",\"severity\":\"ok\",\"message\":\"pfctl runs without sudo: /sbin/pfctl\"},"),
        result.out());
    assertTrue(
        result
            .out()
            .contains(
                "{\"check\":\"main ruleset hook\",\"severity\":\"fail\",\"message\":"
                    + "\"the main ruleset has no 'anchor \\\"com.apple/*\\\"'"),
        result.out());
    assertEquals(1, result.out().lines().count(), "one JSON document, one line");
  }

  @Test
  void doctor_pfctlMissing_exitsThree() {
    Cli.Result result =
        new Cli().run("doctor", "--backend", "pf", "--pfctl-command", "/nonexistent/pfctl");

    assertEquals(3, result.exit());
    assertTrue(result.out().contains("FAIL  pfctl runs: could not run pfctl"), result.out());
    assertTrue(
        result
            .out()
            .contains("\n      fix: check the configured pfctl command [/nonexistent/pfctl]\n"),
        result.out());
    assertFalse(
        result.out().contains("(check the configured"),
        "the hint is the fix, not repeated in the message");
  }

  @Test
  void doctor_unknownBackend_isUsageErrorTwo() {
    Cli.Result result = new Cli().run("doctor", "--backend", "iptables");

    assertEquals(2, result.exit());
    assertTrue(
        result
            .err()
            .startsWith(
                "Invalid value for option '--backend': 'iptables' is not a backend: pick pf or nft"),
        result.err());
  }

  @Test
  void doctor_invalidPolicy_exitsOneWithItsProblems() throws IOException {
    Path policy = Files.writeString(dir.resolve("bad.policy"), "log loudly\n");

    Cli.Result result = doctor("--policy", policy.toString());

    assertEquals(1, result.exit());
    assertEquals(policy + ":1:5: expected 'denied' after 'log', found 'loudly'\n", result.err());
    assertFalse(result.out().contains("can enforce"));
  }
}
