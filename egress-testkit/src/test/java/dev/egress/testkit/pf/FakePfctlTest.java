package dev.egress.testkit.pf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FakePfctlTest {
  private static final String PARENT = "com.apple/000.egress";
  private final FakePfctl fake = new FakePfctl();

  private FakePfctl.Result run(String stdin, String... args) {
    return fake.execute(concat(args), stdin);
  }

  private static List<String> concat(String... args) {
    List<String> argv = new java.util.ArrayList<>(List.of("sudo", "-n", "/sbin/pfctl"));
    argv.addAll(List.of(args));
    return argv;
  }

  private static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  @Test
  void dangerousCommands_areRefused_recorded_andChangeNothing() {
    fake.execute(concat("-E"), "");
    run("anchor \"*\"\n", "-a", PARENT, "-f", "-");
    for (List<String> args :
        List.of(
            List.of("-d"),
            List.of("-F", "all"),
            List.of("-F", "states"),
            List.of("-a", PARENT, "-F", "states"),
            List.of("-f", "/etc/pf.conf"),
            List.of("-f", "-"),
            List.of("-a", "com.apple/*", "-F", "all"),
            List.of("-e"),
            List.of("-t", "t", "-T", "flush"))) {
      FakePfctl.Result result = fake.execute(concat(args.toArray(String[]::new)), "pass all\n");
      assertEquals(1, result.exitCode(), args.toString());
      assertTrue(result.stderr().contains("fake pfctl refuses"), result.stderr());
    }
    assertEquals(9, fake.refusedCalls().size());
    assertTrue(fake.isEnabled());
    assertTrue(fake.isMainRulesetHooked());
    assertEquals(List.of("anchor \"*\""), fake.anchor(PARENT).orElseThrow().rules());
  }

  @Test
  void load_intoAnAnchorPathOf64CharactersOrMore_failsAsPfctlDoes() {
    String fits = PARENT + "/" + "a".repeat(63 - PARENT.length() - 1);
    String tooLong = fits + "b";

    FakePfctl.Result failed = run("block in quick all\n", "-a", tooLong, "-f", "-");
    FakePfctl.Result loaded = run("block in quick all\n", "-a", fits, "-f", "-");

    assertEquals(1, failed.exitCode());
    assertTrue(failed.stderr().contains("pfctl_add_rule: strlcpy"), failed.stderr());
    assertTrue(fake.anchor(tooLong).isEmpty());
    assertEquals(0, loaded.exitCode(), loaded.stderr());
    assertEquals(List.of("block in quick all"), fake.anchor(fits).orElseThrow().rules());
  }

  @Test
  void load_isAllOrNothing_andReportsTheLineOfASyntaxError() {
    run("block in quick all\n", "-a", PARENT + "/c1", "-f", "-");
    FakePfctl.Result bad =
        run(
            "table <t> persist { 1.2.3.4 }\nblock in quick all\nnonsense here\n",
            "-a",
            PARENT + "/c1",
            "-f",
            "-");
    assertEquals(1, bad.exitCode());
    assertTrue(bad.stderr().contains("stdin:3: syntax error"), bad.stderr());
    assertEquals(List.of("block in quick all"), fake.anchor(PARENT + "/c1").orElseThrow().rules());
    assertEquals(Set.of(), fake.anchor(PARENT + "/c1").orElseThrow().tables().keySet());
  }

  @Test
  void flush_emptiesTheAnchor_whichStaysListed() {
    run("table <t> persist { 1.2.3.4 }\nblock in quick all\n", "-a", PARENT + "/c1", "-f", "-");
    assertEquals(0, run("", "-a", PARENT + "/c1", "-F", "all").exitCode());
    assertTrue(fake.anchor(PARENT + "/c1").orElseThrow().isEmpty());
    assertEquals("  " + PARENT + "/c1\n", run("", "-a", PARENT, "-s", "Anchors").stdout());
    assertEquals("", run("", "-a", PARENT + "/c1", "-s", "rules").stdout());
  }

  @Test
  void killStates_fromAHost_andFromAnyToAHost() {
    fake.openConnection(ip("10.0.0.2"), ip("1.1.1.1"))
        .openConnection(ip("10.0.0.1"), ip("10.0.0.2"))
        .openConnection(ip("10.0.0.3"), ip("1.1.1.1"));
    run("", "-k", "10.0.0.2");
    assertEquals(2, fake.connections().size());
    run("", "-k", "0.0.0.0/0", "-k", "10.0.0.2");
    assertEquals(
        Set.of(new FakePfctl.Connection(ip("10.0.0.3"), ip("1.1.1.1"))), fake.connections());
  }

  @Test
  void natStates_areListedWithTheHostsAddress_andKilledByTheContainersAddress() {
    fake.openNatConnection(ip("192.168.64.3"), ip("10.1.2.3"), ip("1.1.1.1"))
        .openConnection(ip("fd00:64::3"), ip("2001:db8::1"));
    FakePfctl.Result listed = run("", "-s", "state");
    assertEquals(
        "ALL tcp 1.1.1.1:443 <- 192.168.64.3:50000       ESTABLISHED:ESTABLISHED\n"
            + "ALL tcp 192.168.64.3:50000 -> 10.1.2.3:60000 -> 1.1.1.1:443      "
            + " ESTABLISHED:ESTABLISHED\n"
            + "ALL tcp 2001:db8::1[443] <- fd00:64::3[50000]       ESTABLISHED:ESTABLISHED\n",
        listed.stdout());
    run("", "-k", "10.1.2.3");
    assertEquals(3, fake.connections().size(), "the translated address is not the source");
    run("", "-k", "0.0.0.0/0", "-k", "fd00:64::3");
    assertEquals(3, fake.connections().size(), "families never mix");
    run("", "-k", "192.168.64.3");
    assertEquals(1, fake.connections().size());
    assertEquals(0, run("", "-a", PARENT, "-s", "state").exitCode() == 0 ? 1 : 0);
  }

  @Test
  void killsMiss_reportsSuccessAndKillsNothing_thenKillsAgain() {
    fake.openConnection(ip("10.0.0.2"), ip("1.1.1.1")).killsMiss(1);
    FakePfctl.Result missed = run("", "-k", "10.0.0.2");
    assertEquals(0, missed.exitCode());
    assertTrue(missed.stderr().contains("killed 0 states"), missed.stderr());
    assertEquals(1, fake.connections().size());
    run("", "-k", "10.0.0.2");
    assertEquals(0, fake.connections().size());
  }

  @Test
  void tokens_keepPfEnabled_untilTheLastIsReleased_orSomeoneDisablesIt() {
    String stderr = run("", "-E").stderr();
    long token = Long.parseLong(stderr.replaceAll("(?s).*Token : (\\d+).*", "$1"));
    assertTrue(run("", "-s", "info").stdout().startsWith("Status: Enabled"));
    assertEquals(0, run("", "-X", Long.toString(token)).exitCode());
    assertTrue(run("", "-s", "info").stdout().startsWith("Status: Disabled"));
    assertEquals(1, run("", "-X", Long.toString(token)).exitCode(), "a released token is unknown");
    run("", "-E");
    fake.disableByOthers();
    assertFalse(fake.isEnabled());
  }

  @Test
  void verdict_passesEverything_whenPfIsOffOrUnhooked_andFollowsTheAnchorsOtherwise() {
    PfPacket packet =
        PfPacket.in("bridge100", PfPacket.IpProtocol.TCP, ip("192.168.64.5"), ip("1.1.1.1"), 443);
    run("anchor \"*\"\n", "-a", PARENT, "-f", "-");
    run("block return in quick inet from 192.168.64.5 to any\n", "-a", PARENT + "/c1", "-f", "-");
    assertEquals(PfVerdict.PASS, fake.verdict(PARENT, packet), "pf is disabled");
    run("", "-E");
    assertEquals(PfVerdict.BLOCK, fake.verdict(PARENT, packet));
    fake.unhookMainRuleset();
    assertEquals(PfVerdict.PASS, fake.verdict(PARENT, packet), "com.apple/* no longer evaluated");
  }

  @Test
  void state_survivesWriteAndRead_faultsIncluded(@TempDir Path dir) throws Exception {
    run("block in quick all\n", "-a", PARENT + "/c1", "-f", "-");
    fake.failOn("-s info", 1, 1, "sudo: a password is required");
    fake.writeTo(dir.resolve("state"));
    FakePfctl copy = FakePfctl.readFrom(dir.resolve("state"));
    assertEquals(fake.anchors(), copy.anchors());
    assertEquals(fake.calls(), copy.calls());
    assertEquals(1, copy.execute(concat("-s", "info"), "").exitCode());
    assertEquals(
        0, copy.execute(concat("-s", "info"), "").exitCode(), "the fault was for one call");
  }
}
