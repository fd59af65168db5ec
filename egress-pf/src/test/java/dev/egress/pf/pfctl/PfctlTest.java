package dev.egress.pf.pfctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessTimeoutException;
import dev.egress.testkit.pf.FakePfctl;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PfctlTest {
  private static final String CHILD_PATH = "com.apple/000.egress/c1";
  private static final AnchorPath CHILD = AnchorPath.of(CHILD_PATH);
  private final FakePfctl fake = new FakePfctl();
  private final Pfctl pfctl = new Pfctl(fake, Pfctl.DEFAULT_COMMAND, Duration.ofSeconds(5));

  private static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  @Test
  void loadAnchor_passesRulesOnStdinWithTheSudoPrefix_andSucceedsDespiteNoise() throws Exception {
    String rules =
        "table <dst_tcp_443> persist { 203.0.113.7 }\n"
            + "pass in quick proto tcp from 192.168.64.3 to <dst_tcp_443> port 443\n";
    pfctl.loadAnchor(CHILD, rules);

    FakePfctl.Call call = fake.calls().get(0);
    assertEquals(List.of("-a", CHILD_PATH, "-f", "-"), call.args());
    assertEquals(rules + Pfctl.END_OF_LOAD + "\n", call.stdin());
    assertEquals(
        Set.of("203.0.113.7"), fake.anchor(CHILD_PATH).orElseThrow().tables().get("dst_tcp_443"));
    assertEquals(
        List.of("pass in quick proto tcp from 192.168.64.3 to <dst_tcp_443> port 443"),
        pfctl.rules(CHILD));
  }

  @Test
  void addToTable_andDeleteFromTable_nameEachAddressOnce_andTouchNoOtherEntryOrRule()
      throws Exception {
    pfctl.loadAnchor(
        CHILD,
        "table <n_a> persist { 203.0.113.7 }\n"
            + "pass in quick inet proto tcp from 192.168.64.3 to <n_a> port = 443\n");
    TableName table = new TableName("n_a");

    pfctl.addToTable(
        CHILD, table, List.of(ip("2001:db8::1"), ip("198.51.100.2"), ip("198.51.100.2")));
    assertEquals(
        List.of("-a", CHILD_PATH, "-t", "n_a", "-T", "add", "198.51.100.2", "2001:db8::1"),
        fake.calls().get(1).args());
    assertEquals(
        Set.of("203.0.113.7", "198.51.100.2", "2001:db8::1"),
        fake.anchor(CHILD_PATH).orElseThrow().tables().get("n_a"));

    pfctl.deleteFromTable(CHILD, table, List.of(ip("198.51.100.2"), ip("192.0.2.99")));
    assertEquals(
        Set.of("203.0.113.7", "2001:db8::1"),
        fake.anchor(CHILD_PATH).orElseThrow().tables().get("n_a"));
    assertEquals(
        List.of("pass in quick inet proto tcp from 192.168.64.3 to <n_a> port = 443"),
        pfctl.rules(CHILD));
  }

  @Test
  void tableChanges_ofNoAddressOrTooMany_areRefusedBeforePfctlRuns() {
    TableName table = new TableName("n_a");
    List<InetAddress> tooMany = new java.util.ArrayList<>();
    for (int i = 0; i <= Pfctl.MAX_TABLE_ADDRESSES; i++) {
      tooMany.add(ip("10.0." + (i / 256) + "." + (i % 256)));
    }

    assertThrows(IllegalArgumentException.class, () -> pfctl.addToTable(CHILD, table, List.of()));
    assertThrows(IllegalArgumentException.class, () -> pfctl.addToTable(CHILD, table, tooMany));
    assertThrows(
        IllegalArgumentException.class, () -> pfctl.deleteFromTable(CHILD, table, List.of()));
    assertEquals(List.of(), fake.calls());
  }

  @Test
  void deleteFromTable_ofATableThatDoesNotExist_fails() {
    PfctlException e =
        assertThrows(
            PfctlException.class,
            () -> pfctl.deleteFromTable(CHILD, new TableName("n_a"), List.of(ip("192.0.2.1"))));
    assertTrue(e.getMessage().contains("Table does not exist"), e.getMessage());
  }

  @Test
  void enable_returnsTheTokenFromStderr() throws Exception {
    assertFalse(pfctl.isEnabled());
    long token = pfctl.enable();
    assertTrue(pfctl.isEnabled());
    assertEquals(Set.of(token), fake.tokens());
  }

  @Test
  void enable_whenNoTokenPrinted_fails() {
    Pfctl silent =
        new Pfctl(
            command -> new ProcessResult(0, "", "pf enabled\n"),
            List.of("pfctl"),
            Duration.ofSeconds(1));
    PfctlException e = assertThrows(PfctlException.class, silent::enable);
    assertTrue(e.getMessage().contains("Token"), e.getMessage());
  }

  @Test
  void rules_whenTheRunnerDroppedPartOfTheListing_failsInsteadOfReadingAHead() {
    Pfctl cut =
        new Pfctl(
            command -> new ProcessResult(0, "pass in quick all\n", "", 4096, 0),
            List.of("pfctl"),
            Duration.ofSeconds(1));
    PfctlException e = assertThrows(PfctlException.class, () -> cut.rules(CHILD));
    assertTrue(e.getMessage().contains("4096 bytes dropped"), e.getMessage());
  }

  @Test
  void isEnabled_whenStatusLineMissing_failsInsteadOfGuessing() {
    Pfctl odd =
        new Pfctl(
            command -> new ProcessResult(0, "something else\n", ""),
            List.of("pfctl"),
            Duration.ofSeconds(1));
    assertThrows(PfctlException.class, odd::isEnabled);
  }

  @Test
  void replaceTable_writesOneEntryPerLine_andShowReadsThemBack() throws Exception {
    pfctl.loadAnchor(CHILD, "table <t1> persist\n");
    pfctl.replaceTable(
        CHILD,
        new TableName("t1"),
        List.of(IpNetwork.parse("198.51.100.0/24"), IpNetwork.parse("2001:db8::1")));
    FakePfctl.Call call = fake.calls().get(1);
    assertEquals(List.of("-a", CHILD_PATH, "-t", "t1", "-T", "replace", "-f", "-"), call.args());
    assertEquals("198.51.100.0/24\n2001:db8::1\n" + Pfctl.END_OF_LOAD + "\n", call.stdin());
    assertEquals(
        new TreeSet<>(List.of("198.51.100.0/24", "2001:db8::1")),
        new TreeSet<>(pfctl.table(CHILD, new TableName("t1"))));
  }

  @Test
  void load_largerThanTheLimit_isRefusedWithoutRunningPfctl() {
    String rule = "block return in quick inet from 192.168.64.3 to any\n";
    String rules = rule.repeat(Pfctl.MAX_LOAD_BYTES / rule.length() + 1);

    PfctlException e = assertThrows(PfctlException.class, () -> pfctl.loadAnchor(CHILD, rules));
    assertTrue(
        e.getMessage().contains("more than the 16777216 bytes one pfctl load may carry"),
        e.getMessage());
    assertEquals(List.of(), fake.calls());
  }

  @Test
  void load_refusedByTheSudoWrapper_saysSoAndHowToFixIt() {
    Pfctl wrapped =
        new Pfctl(
            command ->
                new ProcessResult(
                    64,
                    "",
                    "egressctl-pfctl: refused: line 2 names '10.0.0.5', outside the managed"
                        + " networks\n"),
            List.of("sudo", "-n", "/usr/local/libexec/egressctl-pfctl"),
            Duration.ofSeconds(1));

    PfctlException e =
        assertThrows(PfctlException.class, () -> wrapped.loadAnchor(CHILD, "block in all\n"));
    assertTrue(
        e.getMessage().startsWith("the sudo wrapper refused the call: egressctl-pfctl: refused:"),
        e.getMessage());
    assertTrue(e.hint().contains("egressctl sudoers"), e.hint());
  }

  @Test
  void load_ofTextNotEndedByANewline_isRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> pfctl.loadAnchor(CHILD, "block in quick from 192.168.64.3 to any"));
    assertEquals(List.of(), fake.calls());
  }

  @Test
  void flushAnchor_emptiesItButItStaysListed() throws Exception {
    pfctl.loadAnchor(CHILD, "block in quick from 192.168.64.3 to any\n");
    pfctl.flushAnchor(CHILD);
    assertEquals(List.of("-a", CHILD_PATH, "-F", "all"), fake.calls().get(1).args());
    assertEquals(List.of(), pfctl.rules(CHILD));
    assertEquals(List.of(CHILD_PATH), pfctl.anchors(AnchorPath.of("com.apple/000.egress")));
  }

  @Test
  void killStates_coverBothDirections_forIpv4AndIpv6() throws Exception {
    InetAddress container = ip("192.168.64.3");
    InetAddress container6 = ip("fd00::3");
    fake.openConnection(container, ip("203.0.113.7"))
        .openConnection(ip("192.168.64.1"), container)
        .openConnection(container6, ip("2001:db8::7"))
        .openConnection(ip("fd00::1"), container6)
        .openConnection(ip("192.168.64.9"), ip("203.0.113.7"));
    pfctl.killStatesFrom(container);
    pfctl.killStatesTo(container);
    pfctl.killStatesFrom(container6);
    pfctl.killStatesTo(container6);
    assertEquals(
        List.of(
            List.of("-k", "192.168.64.3"), List.of("-k", "0.0.0.0/0", "-k", "192.168.64.3"),
            List.of("-k", "fd00::3"), List.of("-k", "::/0", "-k", "fd00::3")),
        fake.calls().stream().map(FakePfctl.Call::args).toList());
    assertEquals(
        Set.of(new FakePfctl.Connection(ip("192.168.64.9"), ip("203.0.113.7"))),
        fake.connections());
  }

  @Test
  void mainRules_showTheAppleHook_untilSomeoneUnhooksIt() throws Exception {
    assertTrue(pfctl.mainRules().contains("anchor \"com.apple/*\" all"));
    fake.unhookMainRuleset();
    assertFalse(pfctl.mainRules().contains("anchor \"com.apple/*\" all"));
  }

  @Test
  void sudoWithoutPassword_becomesSudoPasswordRequired_pointingToEgressctlSudoersFirst() {
    fake.failOn("-s info", 1, 1, "sudo: a password is required");
    SudoPasswordRequiredException e =
        assertThrows(SudoPasswordRequiredException.class, pfctl::isEnabled);
    String hint = e.hint();
    assertTrue(
        hint.startsWith("install the least-privilege sudoers entry 'egressctl sudoers' prints"),
        hint);
    assertTrue(
        e.broadSudoersLine().endsWith(" ALL=(root) NOPASSWD: /sbin/pfctl"), e.broadSudoersLine());
    int alternative =
        hint.indexOf(
            "Simple alternative, which also lets this user disable pf ('pfctl -d')"
                + " and flush every rule ('pfctl -F all')");
    assertTrue(alternative > 0, hint);
    assertTrue(
        hint.indexOf(e.broadSudoersLine()) > alternative,
        "the broad line only as the labelled alternative: " + hint);
    assertEquals(e.broadSudoersLine(), pfctl.broadSudoersLine());
  }

  @Test
  void devPfPermissionDenied_becomesPermissionDenied_withHint() {
    fake.failOn("-f -", 1, 1, "pfctl: /dev/pf: Permission denied");
    PfPermissionDeniedException e =
        assertThrows(
            PfPermissionDeniedException.class,
            () -> pfctl.loadAnchor(CHILD, "block in quick all\n"));
    assertTrue(e.hint().contains("root"), e.hint());
    assertTrue(fake.anchor(CHILD_PATH).isEmpty(), "a failed load changes nothing");
  }

  @Test
  void syntaxError_quotesTheOffendingRenderedLine() {
    PfSyntaxException e =
        assertThrows(
            PfSyntaxException.class,
            () -> pfctl.loadAnchor(CHILD, "block in quick all\nfrobnicate everything\n"));
    assertEquals(2, e.line());
    assertEquals("frobnicate everything", e.offendingLine());
    assertTrue(e.getMessage().contains("'frobnicate everything'"), e.getMessage());
  }

  @Test
  void deviceBusy_becomesBusy_whichSaysRetry() {
    fake.failOn("-f -", 1, 1, "pfctl: DIOCXCOMMIT: Device busy");
    PfBusyException e =
        assertThrows(PfBusyException.class, () -> pfctl.loadAnchor(CHILD, "block in quick all\n"));
    assertTrue(e.hint().contains("retry"), e.hint());
  }

  @Test
  void unknownError_keepsPfctlsWordsAndExitStatus_withoutTheNoise() {
    fake.failOn("-F all", 1, 2, "pfctl: something unheard of");
    PfctlException e = assertThrows(PfctlException.class, () -> pfctl.flushAnchor(CHILD));
    assertEquals(PfctlException.class, e.getClass());
    assertTrue(
        e.getMessage().contains("exit status 2: pfctl: something unheard of"), e.getMessage());
    assertFalse(e.getMessage().contains("ALTQ"), e.getMessage());
  }

  @Test
  void runnerTimeout_becomesPfctlTimeout() {
    Pfctl slow =
        new Pfctl(
            command -> {
              throw new ProcessTimeoutException(command, command.timeout());
            },
            List.of("pfctl"),
            Duration.ofMillis(50));
    PfctlTimeoutException e = assertThrows(PfctlTimeoutException.class, slow::isEnabled);
    assertInstanceOf(ProcessTimeoutException.class, e.getCause());
  }

  @Test
  void anchorPaths_thatWouldReachTheMainRulesetOrMany_areRejectedBeforeRunning() {
    for (String bad :
        List.of("", "/", "com.apple/", "com.apple/*", "a b", "x".repeat(64), "../x")) {
      assertThrows(
          IllegalArgumentException.class, () -> pfctl.flushAnchor(AnchorPath.of(bad)), bad);
    }
    assertThrows(
        IllegalArgumentException.class, () -> pfctl.table(CHILD, new TableName("x".repeat(32))));
    assertEquals(List.of(), fake.calls());
  }

  /**
   * The driver's whole public surface: adding a method needs this list changed, and every method
   * run here must stay within what the fake accepts (it refuses -d, -F without -a, -F states, -f of
   * a file or of the main ruleset).
   */
  @Test
  void driver_hasNoMethodThatDisablesPfOrFlushesOrReloadsTheMainRuleset() throws Exception {
    Set<String> methods =
        Arrays.stream(Pfctl.class.getDeclaredMethods())
            .filter(m -> Modifier.isPublic(m.getModifiers()))
            .map(Method::getName)
            .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(
        new TreeSet<>(
            List.of(
                "addToTable",
                "anchors",
                "broadSudoersLine",
                "deleteFromTable",
                "enable",
                "flushAnchor",
                "isEnabled",
                "killStatesFrom",
                "killStatesTo",
                "loadAnchor",
                "mainRules",
                "replaceTable",
                "ruleCounters",
                "rules",
                "states",
                "table")),
        methods);

    pfctl.enable();
    pfctl.isEnabled();
    pfctl.mainRules();
    pfctl.loadAnchor(CHILD, "table <t> persist\nblock in quick from 192.168.64.3 to any\n");
    pfctl.rules(CHILD);
    pfctl.ruleCounters(CHILD);
    pfctl.anchors(AnchorPath.of("com.apple/000.egress"));
    pfctl.replaceTable(CHILD, new TableName("t"), List.of());
    pfctl.table(CHILD, new TableName("t"));
    pfctl.addToTable(CHILD, new TableName("t"), List.of(ip("203.0.113.7")));
    pfctl.deleteFromTable(CHILD, new TableName("t"), List.of(ip("203.0.113.7")));
    pfctl.flushAnchor(CHILD);
    pfctl.killStatesFrom(ip("192.168.64.3"));
    pfctl.killStatesTo(ip("192.168.64.3"));
    pfctl.states();

    assertEquals(List.of(), fake.refusedCalls());
    for (FakePfctl.Call call : fake.calls()) {
      List<String> args = call.args();
      assertFalse(args.contains("-d") || args.contains("-e") || args.contains("-X"), call.line());
      if (args.contains("-F") || args.contains("-f")) {
        assertTrue(args.contains("-a"), call.line());
      }
      assertFalse(
          call.line().contains("-F states") || call.line().contains("/etc/pf.conf"), call.line());
    }
  }

  @Test
  void statesNaming_findsAnAddressOnEitherSideAndInTheTranslation_andNoOther() {
    String table =
        "ALL tcp 80.249.99.148:80 <- 192.168.65.2:54204       ESTABLISHED:ESTABLISHED\n"
            + "ALL tcp 192.168.65.2:54204 -> 192.168.0.157:43092 -> 80.249.99.148:80      "
            + " ESTABLISHED:ESTABLISHED\n"
            + "ALL tcp 192.168.64.1:18643 -> 192.168.64.11:43614       ESTABLISHED:ESTABLISHED\n"
            + "ALL udp 2001:db8::9[53] <- fd00:64::3[5353]       MULTIPLE:SINGLE\n"
            + "ALL tcp 192.168.65.20:1 <- 192.168.65.21:2       ESTABLISHED:ESTABLISHED\n";
    assertEquals(2, PfctlOutput.statesNaming(table, ip("192.168.65.2")).size());
    assertEquals(1, PfctlOutput.statesNaming(table, ip("192.168.0.157")).size());
    assertEquals(1, PfctlOutput.statesNaming(table, ip("192.168.64.11")).size());
    assertEquals(
        List.of("ALL udp 2001:db8::9[53] <- fd00:64::3[5353] MULTIPLE:SINGLE"),
        PfctlOutput.statesNaming(table, ip("fd00:64::3")));
    assertEquals(List.of(), PfctlOutput.statesNaming(table, ip("192.168.65.200")));
    assertEquals(List.of(), PfctlOutput.statesNaming(table, ip("fd00:64::")));
    assertEquals(List.of(), PfctlOutput.statesNaming("", ip("192.168.65.2")));
  }
}
