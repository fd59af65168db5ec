package dev.egress.pf;

import static dev.egress.pf.PfFixture.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.core.Preview;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.testkit.pf.FakePfctl;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PfEgressEnforcerTest {
  private static final InetAddress GATEWAY = ip("192.168.70.1");
  private static final InetAddress API_1 = ip("198.51.100.1");
  private static final InetAddress API_2 = ip("198.51.100.2");
  private static final InetAddress OTHER = ip("203.0.113.99");

  private final PfFixture pf = new PfFixture();
  private final PfEgressEnforcer enforcer = pf.enforcer();

  @AfterEach
  void close() {
    enforcer.close();
    assertEquals(List.of(), pf.fake.refusedCalls(), "the enforcer ran a forbidden pfctl command");
    pf.close();
  }

  /** What detaching container c1 ({@link #container}(c1, 10)) runs: flush, kills, read-back. */
  private static final List<String> DETACH_C1 =
      List.of(
          "-a com.apple/000.egress/c1 -F all",
          "-k 192.168.70.10",
          "-k 0.0.0.0/0 -k 192.168.70.10",
          "-k fd00:70::a",
          "-k ::/0 -k fd00:70::a",
          "-s state");

  private static List<String> concat(List<String> first, List<String> then) {
    List<String> all = new java.util.ArrayList<>(first);
    all.addAll(then);
    return all;
  }

  private static ContainerEndpoint container(String id, int host) {
    return new ContainerEndpoint(
        ContainerId.of(id),
        List.of(ip("192.168.70." + host), ip("fd00:70::" + Integer.toHexString(host))),
        GATEWAY);
  }

  private static EgressPolicy apiPolicy() {
    return EgressPolicy.builder()
        .allowTcp(Destination.host("api.example.com"), 443)
        .allowTcp(Destination.gateway(), 3001)
        .dns(DnsRule.gateway())
        .build();
  }

  @Test
  void builder_refusesEmptyCommands_namingTheProgram() {
    PfEgressEnforcer.Builder builder = PfEgressEnforcer.builder();
    assertEquals(
        "the pfctl command is empty",
        assertThrows(IllegalArgumentException.class, () -> builder.pfctlCommand(List.of()))
            .getMessage());
    assertEquals(
        "the tcpdump command is empty",
        assertThrows(IllegalArgumentException.class, () -> builder.tcpdumpCommand(List.of()))
            .getMessage());
    assertEquals(
        "the ifconfig command is empty",
        assertThrows(IllegalArgumentException.class, () -> builder.ifconfigCommand(List.of()))
            .getMessage());
  }

  @Test
  void firstAttach_checksPf_takesAToken_loadsTheParent_looksForLeftovers_thenTheChildInOneCall()
      throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    enforcer.attach(container("c1", 10), apiPolicy());
    // Without a reconcile first, the anchors an earlier process left are listed once: one holding
    // a reused address would otherwise govern the new container.
    assertEquals(
        List.of(
            "-s info",
            "-E",
            "-a com.apple/000.egress -f -",
            "-a com.apple/000.egress -s Anchors",
            "-a com.apple/000.egress/c1 -f -"),
        pf.callLines());
    assertEquals(1, pf.fake.tokens().size());
  }

  @Test
  void attach_inSteadyState_isExactlyOnePrivilegedCall() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.clearCalls();
    enforcer.attach(container("c2", 11), apiPolicy());
    assertEquals(List.of("-a com.apple/000.egress/c2 -f -"), pf.callLines());
  }

  @Test
  void attach_enforcesExactlyThePolicy_andTheGuardBlocksUnattachedContainers() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    ContainerEndpoint c1 = container("c1", 10);
    enforcer.attach(c1, apiPolicy());
    InetAddress source = c1.addresses().get(0);
    assertTrue(pf.passes(source, Flow.tcp(API_1, 443)));
    assertTrue(pf.passes(source, Flow.tcp(GATEWAY, 3001)));
    assertTrue(pf.passes(source, Flow.udp(GATEWAY, 53)));
    assertFalse(pf.passes(source, Flow.tcp(API_1, 80)));
    assertFalse(pf.passes(source, Flow.tcp(API_2, 443)));
    assertFalse(pf.passes(source, Flow.udp(OTHER, 53)));
    assertFalse(pf.passes(ip("192.168.70.50"), Flow.tcp(API_1, 443)), "unattached: the guard");
  }

  @Test
  void attach_longIds_loadIntoPathsPfctlAccepts_andDetachRemovesThem() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    List<String> ids =
        List.of(
            "8f14e45fceea167a5a36dedd4bea2543aa1f3c3b1e5c1f0e3f2b9a1c4d5e6f70",
            "nanoclaw-v2-family-group-chat-1764440000000",
            "x".repeat(200));
    List<Attachment> attached = new java.util.ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      attached.add(enforcer.attach(container(ids.get(i), 20 + i), apiPolicy()));
      InetAddress source = ip("192.168.70." + (20 + i));
      assertTrue(pf.passes(source, Flow.tcp(API_1, 443)), ids.get(i));
      assertFalse(pf.passes(source, Flow.tcp(API_2, 443)), ids.get(i));
    }
    assertTrue(
        pf.callLines().stream()
            .filter(line -> line.endsWith(" -f -"))
            .allMatch(line -> line.split(" ")[1].length() <= 63),
        pf.callLines().toString());

    for (Attachment attachment : attached) {
      attachment.detach();
    }
    assertFalse(pf.passes(ip("192.168.70.20"), Flow.tcp(API_1, 443)));
  }

  @Test
  void update_reloadsTheChildInOneCall_andTheNewPolicyApplies() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    Attachment attachment = enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.clearCalls();
    attachment.update(
        EgressPolicy.builder().allowTcp(Destination.network("203.0.113.0/24"), 22).build());
    assertEquals(List.of("-a com.apple/000.egress/c1 -f -"), pf.callLines());
    assertTrue(pf.passes(ip("192.168.70.10"), Flow.tcp(OTHER, 22)));
    assertFalse(pf.passes(ip("192.168.70.10"), Flow.tcp(API_1, 443)));
  }

  @Test
  void counters_sumTheChildsPassAndBlockRuleStatistics_andStartAgainAtAnUpdate() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    Attachment attachment = enforcer.attach(container("c1", 10), apiPolicy());
    String child = "com.apple/000.egress/c1";
    List<String> rules =
        pf.fake.anchor(child).orElseThrow().rules().stream()
            .filter(rule -> rule.startsWith("pass") || rule.startsWith("block"))
            .toList();
    pf.fake.count(child, firstStartingWith(rules, "pass"), 40, 9000);
    pf.fake.count(child, firstStartingWith(rules, "block"), 3, 180);
    pf.fake.clearCalls();

    assertEquals(
        Map.of(ContainerId.of("c1"), new TrafficCounters(40, 9000, 3, 180)), enforcer.counters());
    assertEquals(
        List.of("-a com.apple/000.egress -s Anchors", "-a " + child + " -v -s rules"),
        pf.callLines());
    attachment.update(
        EgressPolicy.builder().allowTcp(Destination.network("203.0.113.0/24"), 22).build());
    assertEquals(Map.of(ContainerId.of("c1"), TrafficCounters.ZERO), enforcer.counters());
  }

  private static int firstStartingWith(List<String> rules, String keyword) {
    for (int i = 0; i < rules.size(); i++) {
      if (rules.get(i).startsWith(keyword + " ")) {
        return i;
      }
    }
    throw new AssertionError("no " + keyword + " rule in " + rules);
  }

  @Test
  void counters_whenPfctlFails_throwWithItsHint() throws Exception {
    enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.failOn("-v -s rules", 1, 1, "pfctl: Operation not permitted\n");

    assertThrows(PfctlException.class, enforcer::counters);
  }

  @Test
  void detach_flushesTheChild_thenKillsStatesBothWaysPerAddress_andNothingElse() throws Exception {
    ContainerEndpoint c1 = container("c1", 10);
    Attachment attachment = enforcer.attach(c1, apiPolicy());
    pf.fake
        .openConnection(ip("192.168.70.10"), API_1)
        .openNatConnection(ip("192.168.70.10"), ip("10.1.2.3"), OTHER)
        .openConnection(GATEWAY, ip("192.168.70.10"))
        .openConnection(ip("fd00:70::a"), ip("2001:db8::1"))
        .openConnection(ip("192.168.70.11"), API_1);
    pf.fake.clearCalls();
    attachment.detach();
    assertEquals(DETACH_C1, pf.callLines());
    assertEquals(
        Set.of(new FakePfctl.Connection(ip("192.168.70.11"), API_1)), pf.fake.connections());
    assertFalse(pf.passes(ip("192.168.70.10"), Flow.tcp(GATEWAY, 3001)));
  }

  @Test
  void detach_whenAKillMisses_killsAgainWhatTheStateTableStillNames() throws Exception {
    ContainerEndpoint c1 = container("c1", 10);
    Attachment attachment = enforcer.attach(c1, apiPolicy());
    pf.fake
        .openNatConnection(ip("192.168.70.10"), ip("10.1.2.3"), API_1)
        .openConnection(ip("192.168.70.11"), API_1);
    pf.fake.killsMiss(1).clearCalls();
    attachment.detach();
    assertEquals(
        concat(DETACH_C1, List.of("-k 192.168.70.10", "-k 0.0.0.0/0 -k 192.168.70.10", "-s state")),
        pf.callLines());
    assertEquals(
        Set.of(new FakePfctl.Connection(ip("192.168.70.11"), API_1)), pf.fake.connections());
  }

  @Test
  void detach_whenStatesSurviveTwoRounds_reportsThemByName() throws Exception {
    ContainerEndpoint c1 = container("c1", 10);
    Attachment attachment = enforcer.attach(c1, apiPolicy());
    pf.fake.openNatConnection(ip("192.168.70.10"), ip("10.1.2.3"), API_1);
    pf.fake.killsMiss(100);
    EgressException e = assertThrows(EgressException.class, attachment::detach);
    assertTrue(e.getMessage().contains("survived two rounds of state kills"), e.getMessage());
    assertTrue(
        e.getMessage().contains("192.168.70.10:50000 -> 10.1.2.3:60000 -> "), e.getMessage());
    assertEquals(List.of(), pf.fake.refusedCalls());
  }

  @Test
  void detach_whenTheStateTableCannotBeRead_saysSo() throws Exception {
    ContainerEndpoint c1 = container("c1", 10);
    Attachment attachment = enforcer.attach(c1, apiPolicy());
    pf.fake.failOn("-s state", 0, 1, "pfctl: DIOCGETSTATES: Permission denied");
    EgressException e = assertThrows(EgressException.class, attachment::detach);
    assertTrue(e.getMessage().contains("-s state"), e.getMessage());
  }

  @Test
  void refresh_replacesOnlyTheTableOfTheChangedName() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1)).answer("cdn.example.com", Set.of(OTHER));
    EgressPolicy policy =
        EgressPolicy.builder()
            .allowTcp(Destination.host("api.example.com"), 443)
            .allowTcp(Destination.host("cdn.example.com"), 8443)
            .build();
    enforcer.attach(container("c1", 10), policy);
    pf.fake.clearCalls();
    pf.resolver.change("api.example.com", Set.of(API_2));
    List<String> calls = pf.callLines();
    assertEquals(1, calls.size(), calls.toString());
    assertTrue(
        calls.get(0).matches("-a com\\.apple/000\\.egress/c1 -t \\w+ -T replace -f -"),
        calls.get(0));
    assertTrue(pf.passes(ip("192.168.70.10"), Flow.tcp(API_2, 443)));
    assertFalse(pf.passes(ip("192.168.70.10"), Flow.tcp(API_1, 443)));
    assertTrue(pf.passes(ip("192.168.70.10"), Flow.tcp(OTHER, 8443)));
  }

  @Test
  void attach_whenTheLoadFails_throwsWithHint_andLeavesTheContainerBlockedByTheGuard()
      throws Exception {
    enforcer.attach(container("c0", 9), apiPolicy()); // pf prepared
    pf.fake.failOn("-a com.apple/000.egress/c1 -f -", 1, 1, "pfctl: /dev/pf: Permission denied");
    PfctlException e =
        assertThrows(PfctlException.class, () -> enforcer.attach(container("c1", 10), apiPolicy()));
    assertFalse(e.hint().isEmpty());
    assertTrue(
        pf.fake.anchor("com.apple/000.egress/c1").map(FakePfctl.Anchor::isEmpty).orElse(true));
    assertFalse(pf.passes(ip("192.168.70.10"), Flow.tcp(GATEWAY, 3001)));
    assertEquals(1, enforcer.attachments().size());
  }

  @Test
  void attach_ofAWildcardPolicy_isRefusedBeforeAnyPfctlCall() {
    EgressPolicy wildcard =
        EgressPolicy.builder().allowTcp(Destination.host("*.example.com"), 443).build();
    assertThrows(
        UnsupportedPolicyException.class, () -> enforcer.attach(container("c1", 10), wildcard));
    UnsupportedPolicyException refused =
        assertThrows(
            UnsupportedPolicyException.class,
            () -> enforcer.preview(container("c1", 10), wildcard));
    assertTrue(refused.getMessage().contains("wildcard"), refused.getMessage());
    assertFalse(refused.hint().isEmpty());
    assertEquals(List.of(), pf.fake.calls());
  }

  @Test
  void preview_isExactlyWhatAttachLoads_andThePfctlCallThatLoadsIt_withoutRunningPfctl()
      throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    ContainerEndpoint c1 = container("c1", 10);

    Preview preview = enforcer.preview(c1, apiPolicy());

    assertEquals(List.of(), pf.fake.calls(), "a preview runs no pfctl");
    assertEquals("pfctl -a com.apple/000.egress/c1 -f -", preview.loadCommand());
    enforcer.attach(c1, apiPolicy());
    FakePfctl.Call load = pf.fake.calls().get(pf.fake.calls().size() - 1);
    assertEquals(List.of("-a", "com.apple/000.egress/c1", "-f", "-"), load.args());
    assertEquals(preview.ruleset() + Pfctl.END_OF_LOAD + "\n", load.stdin(), "the load is framed");
    assertTrue(preview.plan().permits(Flow.tcp(API_1, 443)));
  }

  @Test
  void detach_whenTheFlushFails_keepsTheRules_killsStates_andRetriesOnTheNextDetach()
      throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    Attachment attachment = enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.failOn("-F all", 2, 1, "pfctl: DIOCXCOMMIT: Device busy");
    assertThrows(EgressException.class, attachment::detach);
    assertEquals(Set.of(Subject.container(ContainerId.of("c1"))), enforcer.pendingRemovals());
    assertTrue(pf.passes(ip("192.168.70.10"), Flow.tcp(API_1, 443)), "rules stay: only the policy");
    assertFalse(pf.passes(ip("192.168.70.10"), Flow.tcp(OTHER, 443)));
    assertThrows(
        EgressException.class,
        () -> enforcer.attach(container("c2", 10), apiPolicy()),
        "the address stays reserved while its removal keeps failing");
    assertEquals(List.of(), enforcer.attachments());
    attachment.detach();
    assertEquals(Set.of(), enforcer.pendingRemovals());
    assertFalse(pf.passes(ip("192.168.70.10"), Flow.tcp(API_1, 443)));
  }

  @Test
  void reconcile_afterARestart_removesDeadContainers_andLeavesLiveOnesRestricted()
      throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    enforcer.attach(container("c1", 10), apiPolicy());
    enforcer.attach(container("c2", 11), apiPolicy());
    pf.fake.execute(
        List.of("pfctl", "-a", "com.apple/000.egress/c3", "-f", "-"), "block in quick all\n");
    pf.fake.wipeAnchor("com.apple/000.egress/c3"); // emptied long ago: listed, but absent
    try (PfEgressEnforcer restarted = pf.enforcer()) {
      pf.fake.clearCalls();
      ReconcileResult result = restarted.reconcile(Set.of(ContainerId.of("c1")));
      assertEquals(Set.of(Subject.unowned(new AnchorName("c2"))), result.removed());
      assertTrue(pf.callLines().contains("-a com.apple/000.egress/c2 -F all"));
      assertFalse(
          pf.callLines().stream().anyMatch(l -> l.contains("c1 -F") || l.contains("c3 -F")));
      assertTrue(pf.passes(ip("192.168.70.10"), Flow.tcp(API_1, 443)));
      assertFalse(pf.passes(ip("192.168.70.11"), Flow.tcp(API_1, 443)));
    }
  }

  @Test
  void health_reloadsAWipedChild_andReportsIt() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.wipeAnchor("com.apple/000.egress/c1");
    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();
    assertEquals(1, findings.size(), findings.toString());
    assertTrue(findings.get(0).repaired());
    assertTrue(pf.passes(ip("192.168.70.10"), Flow.tcp(API_1, 443)));
    assertEquals(List.of(), enforcer.checkHealth());
  }

  @Test
  void health_whenTheMainRulesetLostTheAppleHook_reportsTheFix_andNeverTouchesIt()
      throws Exception {
    enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.unhookMainRuleset();
    pf.fake.clearCalls();
    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();
    EgressEvent.DriftDetected finding =
        findings.stream()
            .filter(f -> f.description().contains("com.apple/*"))
            .findFirst()
            .orElseThrow();
    assertFalse(finding.repaired());
    assertTrue(finding.description().contains("pfctl -f /etc/pf.conf"), finding.description());
    assertTrue(pf.callLines().stream().allMatch(l -> !l.contains("-f") || l.startsWith("-a ")));
    assertFalse(pf.fake.isMainRulesetHooked());
  }

  @Test
  void health_whenTheAppleHookWasNarrowed_reportsItAsUnhooked() throws Exception {
    enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.narrowMainRulesetHook("anchor \"com.apple/*\" in on lo0 all");
    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();
    assertTrue(
        findings.stream().anyMatch(f -> f.description().contains("com.apple/*") && !f.repaired()),
        findings.toString());
  }

  @Test
  void health_reloadsAFlushedParent_andReportsIt() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.wipeAnchor("com.apple/000.egress");
    assertTrue(pf.passes(ip("192.168.70.10"), Flow.tcp(OTHER, 22)), "flushed: fails open");
    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();
    assertTrue(
        findings.stream().anyMatch(f -> f.description().contains("parent anchor") && f.repaired()),
        findings.toString());
    assertFalse(pf.passes(ip("192.168.70.10"), Flow.tcp(OTHER, 22)));
    assertEquals(List.of(), enforcer.checkHealth());
  }

  @Test
  void health_whenSomeoneDisabledPf_reEnablesItWithAToken() throws Exception {
    enforcer.attach(container("c1", 10), apiPolicy());
    pf.fake.disableByOthers();
    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();
    assertTrue(
        findings.stream().anyMatch(f -> f.description().contains("disabled") && f.repaired()),
        findings.toString());
    assertTrue(pf.fake.isEnabled());
  }

  @Test
  void close_keepsTheReferenceItTook_soPfStillEnforcesTheRulesAndTheGuard() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    ContainerEndpoint c1 = container("c1", 10);
    enforcer.attach(c1, apiPolicy());
    Set<Long> taken = pf.fake.tokens();

    enforcer.close();

    // Released, the only reference would disable pf, and every anchor with it: the container
    // would reach anything while the launcher is down.
    assertEquals(taken, pf.fake.tokens());
    assertEquals(1, taken.size());
    assertFalse(
        pf.callLines().stream().anyMatch(l -> l.startsWith("-X")), pf.callLines().toString());
    assertTrue(pf.fake.isEnabled());
    InetAddress source = c1.addresses().get(0);
    assertTrue(pf.passes(source, Flow.tcp(API_1, 443)));
    assertFalse(pf.passes(source, Flow.tcp(API_2, 443)), "the container stays restricted");
    assertFalse(pf.passes(ip("192.168.70.50"), Flow.tcp(API_1, 443)), "the guard stays");
  }

  @Test
  void whenPfIsAlreadyEnabled_noTokenIsTaken_andCloseReleasesNothing() throws Exception {
    pf.fake.enableByOthers();
    enforcer.attach(container("c1", 10), apiPolicy());
    enforcer.close();
    assertFalse(pf.callLines().stream().anyMatch(l -> l.equals("-E") || l.startsWith("-X")));
    assertTrue(pf.fake.isEnabled());
  }
}
