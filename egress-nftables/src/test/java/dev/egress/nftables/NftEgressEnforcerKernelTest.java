package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.plan.Family;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.LabRequirement;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link NftEgressEnforcer} end to end: real packets, real DNS records, the whole lifecycle. */
class NftEgressEnforcerKernelTest {
  private static final String API = "api.example.test";
  private static final Duration TTL = Duration.ofSeconds(2);
  private static NetnsLab lab;

  private final List<EgressEvent> events = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startLab() throws Exception {
    lab = LabRequirement.startLab(3, "nft", "conntrack");
  }

  @AfterAll
  static void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @AfterEach
  void clearTable() throws Exception {
    LabNft.removeRuleSets(lab);
  }

  private NftEgressEnforcer newEnforcer() {
    return LabNft.enforcer(lab)
        .resolver(lab.names())
        .guard(new NftGuard(List.of(NetnsLab.BRIDGE), lab.containerNetworks(), true))
        .listener(events::add)
        .build();
  }

  private static EgressPolicy apiPolicy() {
    return EgressPolicy.builder()
        .allowTcp(Destination.host(API), 443)
        .dns(DnsRule.servers(NetnsLab.dnsServer()))
        .logDenied(true)
        .build();
  }

  private static EgressPolicy httpsTo(InetAddress address) {
    return EgressPolicy.builder()
        .allowTcp(new Destination.Network(IpNetwork.host(address)), 443)
        .dns(DnsRule.none())
        .build();
  }

  @Test
  void attach_enforces_andDetach_cutsTheOpenConnection() throws Exception {
    lab.names().set(API, TTL, NetnsLab.web(0));
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = newEnforcer()) {
      Attachment attachment = enforcer.attach(c1.endpoint(), apiPolicy());
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
      assertEquals(Outcome.REACHED, c1.open("live", NetnsLab.web(0), 443));

      attachment.detach();

      assertNotEquals(Outcome.REACHED, c1.exchange("live"));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 443));
      assertTrue(events.stream().anyMatch(e -> e instanceof EgressEvent.Attached));
      assertTrue(events.stream().anyMatch(e -> e instanceof EgressEvent.Detached));
    }
  }

  @Test
  void counters_moveAsExpected_afterARefusedAndAnAllowedConnect() throws Exception {
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = newEnforcer()) {
      enforcer.attach(c1.endpoint(), httpsTo(NetnsLab.web(0)));
      TrafficCounters before = enforcer.counters().get(c1.id());

      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
      TrafficCounters refused = enforcer.counters().get(c1.id());
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      TrafficCounters allowed = enforcer.counters().get(c1.id());

      // The refused SYN (at least 40 bytes of IPv4 and TCP headers) counts; nothing was let
      // through.
      assertEquals(before.allowedPackets(), refused.allowedPackets(), refused.toString());
      assertTrue(refused.refusedPackets() >= before.refusedPackets() + 1, refused.toString());
      assertTrue(refused.refusedBytes() >= before.refusedBytes() + 40, refused.toString());
      // The allowed connection: its SYN through the allow rule, the rest as established.
      assertTrue(allowed.allowedPackets() >= refused.allowedPackets() + 2, allowed.toString());
      assertTrue(allowed.allowedBytes() >= refused.allowedBytes() + 80, allowed.toString());
    }
  }

  @Test
  void nameWhoseAddressChangesInTheLabDns_isFollowedWithinItsTtl() throws Exception {
    lab.names().set(API, TTL, NetnsLab.web(0));
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = newEnforcer()) {
      enforcer.attach(c1.endpoint(), apiPolicy());
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));

      lab.names().set(API, TTL, NetnsLab.web(1));

      long deadline = System.nanoTime() + TTL.toNanos();
      boolean followed = false;
      for (int attempt = 0; attempt < 40 && System.nanoTime() < deadline && !followed; attempt++) {
        followed =
            c1.tcp(NetnsLab.web(1), 443) == Outcome.REACHED
                && c1.tcp(NetnsLab.web(0), 443) == Outcome.REFUSED;
        if (!followed) {
          Thread.sleep(50);
        }
      }
      assertTrue(
          followed, "the new address should be reachable and the old one refused within " + TTL);
      assertEquals(Outcome.REACHED, c1.dnsQuery(NetnsLab.dnsServer(), API));
      assertTrue(events.stream().anyMatch(e -> e instanceof EgressEvent.AddressesRefreshed));
    }
  }

  private static final String HANG_GATE =
      ""
          + "flags=$1; ns=$2; tool=$3; shift 3\n"
          + "if [ \"$tool\" = nft ] && [ \"$1\" = -f ] && [ -e \"$flags/hang\" ]; then\n"
          + "  cat > \"$flags/script\"\n"
          + "  touch \"$flags/hanging\"\n"
          + "  i=0; while [ -e \"$flags/hang\" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n"
          + "  ip netns exec \"$ns\" nft -f \"$flags/script\"; rc=$?\n"
          + "  touch \"$flags/committed\"; exit $rc\n"
          + "fi\n"
          + "exec ip netns exec \"$ns\" \"$tool\" \"$@\"\n";

  @Test
  void enforcerProcessKilledMidAttach_thenReconcile_leavesExactlyTheLiveAttachments(
      @TempDir Path flags) throws Exception {
    LabContainer a = lab.container(1);
    LabContainer b = lab.container(2);
    LabContainer c = lab.container(3);
    NftBackend backend = NftBackendKernelTest.backendFor(lab);
    List<List<String>> gated = new ArrayList<>();
    for (String tool : List.of("nft", "conntrack")) {
      gated.add(
          List.of("sh", "-c", HANG_GATE, "gate", flags.toString(), lab.hostNamespace(), tool));
    }
    ChildLauncher launcher =
        new ChildLauncher(
            lab, List.of(), true, gated.get(0), gated.get(1), flags.resolve("stderr"));
    try {
      assertEquals("ready", launcher.answer(60_000));
      launcher.attach(a, policyFile(httpsTo(NetnsLab.web(0)), flags));
      assertEquals("done", launcher.answer(30_000));
      launcher.attach(b, policyFile(httpsTo(NetnsLab.web(1)), flags));
      assertEquals("done", launcher.answer(30_000));

      // c's transaction reaches nft and hangs there; the launcher dies meanwhile.
      Files.createFile(flags.resolve("hang"));
      launcher.attach(c, policyFile(httpsTo(NetnsLab.web(2)), flags));
      awaitFile(flags.resolve("hanging"));
      launcher.kill();
      // The orphaned nft commits after its enforcer is gone.
      Files.delete(flags.resolve("hang"));
      awaitFile(flags.resolve("committed"));
      assertEquals(Outcome.REACHED, c.tcp(NetnsLab.web(2), 443), "c's late transaction applies");
    } finally {
      launcher.kill();
    }

    // The launcher restarts; b stopped meanwhile and c never started properly: only a runs.
    try (NftEgressEnforcer restarted = newEnforcer()) {
      ReconcileResult result = restarted.reconcile(Set.of(a.id()));

      assertEquals(
          Set.of(
              Subject.unowned(backend.ruleSetName(b.id())),
              Subject.unowned(backend.ruleSetName(c.id()))),
          result.removed());
      assertEquals(Set.of(backend.ruleSetName(a.id())), backend.installed().keySet());
      assertEquals(Outcome.REACHED, a.tcp(NetnsLab.web(0), 443), "a keeps its rules");
      assertEquals(Outcome.REFUSED, a.tcp(NetnsLab.web(1), 443));
      assertEquals(Outcome.REFUSED, b.tcp(NetnsLab.web(1), 443), "b is back under the guard");
      assertEquals(Outcome.REFUSED, c.tcp(NetnsLab.web(2), 443), "c is back under the guard");
    }
  }

  private static Path policyFile(EgressPolicy policy, Path directory) throws IOException {
    Path file = Files.createTempFile(directory, "attach", ".policy");
    Files.writeString(file, PolicyText.format(policy));
    return file;
  }

  private static void awaitFile(Path file) throws InterruptedException {
    for (int i = 0; i < 200 && !Files.exists(file); i++) {
      Thread.sleep(50);
    }
    assertTrue(Files.exists(file), file + " did not appear within 10 s");
  }

  /** nft through a gate that can stall before nft runs, or after it has committed. */
  private static final String STALL_GATE =
      ""
          + "flags=$1; ns=$2; tool=$3; shift 3\n"
          + "if [ \"$tool\" = nft ] && [ \"$1\" = -f ]; then\n"
          + "  if [ -e \"$flags/stall-before\" ]; then sleep 30; fi\n"
          + "  ip netns exec \"$ns\" nft -f -; rc=$?\n"
          + "  if [ -e \"$flags/stall-after\" ]; then sleep 30; fi\n"
          + "  exit $rc\n"
          + "fi\n"
          + "exec ip netns exec \"$ns\" \"$tool\" \"$@\"\n";

  private NftEgressEnforcer stallingEnforcer(Path flags) {
    return NftEgressEnforcer.builder()
        .resolver(lab.names())
        .nftCommand(
            List.of("sh", "-c", STALL_GATE, "gate", flags.toString(), lab.hostNamespace(), "nft"))
        .conntrackCommand(lab.inHost("conntrack"))
        .procNet(lab.hostProcNet())
        .commandTimeout(Duration.ofSeconds(3))
        .guard(new NftGuard(List.of(NetnsLab.BRIDGE), lab.containerNetworks(), true))
        .listener(events::add)
        .build();
  }

  @Test
  void loadsKilledAtTheTimeoutAfterNftCommitted_areReadBack_andReportedAsDone(@TempDir Path flags)
      throws Exception {
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = stallingEnforcer(flags)) {
      enforcer.reconcile(Set.of()); // the table is prepared before the gate stalls
      Files.createFile(flags.resolve("stall-after"));

      Attachment attachment = enforcer.attach(c1.endpoint(), httpsTo(NetnsLab.web(0)));
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      attachment.update(httpsTo(NetnsLab.web(1)));

      assertEquals(httpsTo(NetnsLab.web(1)), attachment.policy());
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(1), 443));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 443));
    }
  }

  @Test
  void loadsKilledAtTheTimeoutBeforeNftRan_sayTheNewRuleSetIsNotInPlace_andChangeNothing(
      @TempDir Path flags) throws Exception {
    LabContainer c1 = lab.container(1);
    LabContainer c2 = lab.container(2);
    NftBackend backend = NftBackendKernelTest.backendFor(lab);
    try (NftEgressEnforcer enforcer = stallingEnforcer(flags)) {
      Attachment attachment = enforcer.attach(c1.endpoint(), httpsTo(NetnsLab.web(0)));
      Files.createFile(flags.resolve("stall-before"));

      NftException update =
          assertThrows(NftException.class, () -> attachment.update(httpsTo(NetnsLab.web(1))));
      NftException attach =
          assertThrows(
              NftException.class, () -> enforcer.attach(c2.endpoint(), httpsTo(NetnsLab.web(1))));

      for (NftException e : List.of(update, attach)) {
        assertEquals(NftException.Kind.TIMEOUT, e.kind());
        assertTrue(e.getMessage().contains("is not in place"), e.getMessage());
      }
      assertEquals(httpsTo(NetnsLab.web(0)), attachment.policy());
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443), "the old policy holds");
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
      assertEquals(Outcome.REFUSED, c2.tcp(NetnsLab.web(1), 443), "c2 stays under the guard");
      assertEquals(Set.of(backend.ruleSetName(c1.id())), backend.installed().keySet());
    }
  }

  /** Hand edits of one container's rule set, as an attacker with root or a careless admin makes. */
  enum Tampering {
    DELETE_THE_FINAL_REJECT,
    ADD_A_PASS,
    REMOVE_A_SET_ELEMENT,
    ADD_A_SET_ELEMENT,
    DISPATCH_ANOTHER_ADDRESS_TO_IT,
    ADD_A_SET_OF_ITS_NAMING;

    void apply(NetnsLab lab, ChainName chain) throws IOException {
      String table = "inet egress ";
      String command;
      switch (this) {
        case DELETE_THE_FINAL_REJECT:
          String listed =
              lab.exec(
                  lab.hostNamespace(),
                  "nft",
                  "-a",
                  "list",
                  "chain",
                  "inet",
                  "egress",
                  chain.value());
          // The last refusal: a policy that logs refuses DNS to other resolvers by rules before
          // it, and refuses by two rules, logged up to a limit and then unlogged: both go.
          List<String> refusals =
              listed.lines().filter(line -> line.contains("goto deny")).toList();
          List<String> finalRefusal =
              refusals.size() > 1 && refusals.get(refusals.size() - 2).contains("limit rate ")
                  ? refusals.subList(refusals.size() - 2, refusals.size())
                  : refusals.subList(refusals.size() - 1, refusals.size());
          for (String reject : finalRefusal) {
            lab.exec(
                lab.hostNamespace(),
                "nft",
                "delete",
                "rule",
                "inet",
                "egress",
                chain.value(),
                "handle",
                reject.substring(reject.lastIndexOf(' ') + 1));
          }
          return;
        case ADD_A_PASS:
          command = "insert rule " + table + chain + " accept";
          break;
        case REMOVE_A_SET_ELEMENT:
          command =
              "delete element "
                  + table
                  + chain.setName(Family.IPV4, false)
                  + " { "
                  + IpAddresses.format(NetnsLab.web(0))
                  + " . tcp . 443 }";
          break;
        case ADD_A_SET_ELEMENT:
          command =
              "add element "
                  + table
                  + chain.setName(Family.IPV4, false)
                  + " { "
                  + IpAddresses.format(NetnsLab.web(1))
                  + " . tcp . 443 }";
          break;
        case DISPATCH_ANOTHER_ADDRESS_TO_IT:
          command =
              "add element "
                  + table
                  + "src4 { "
                  + IpAddresses.format(lab.container(2).ipv4())
                  + " : jump "
                  + chain
                  + " }";
          break;
        default:
          command = "add set " + table + chain.value() + "_h7_4 { type ipv4_addr; }";
      }
      List<String> argv = new ArrayList<>(List.of("nft"));
      argv.addAll(List.of(command.split(" ")));
      lab.exec(lab.hostNamespace(), argv.toArray(String[]::new));
    }
  }

  /** Where a drift is found: the launcher's reconcile, or the periodic health check. */
  enum Check {
    RECONCILE,
    HEALTH_CHECK
  }

  static Stream<Arguments> tamperingsAndChecks() {
    return Stream.of(Tampering.values())
        .flatMap(t -> Stream.of(Check.values()).map(c -> Arguments.of(t, c)));
  }

  /** What c1 and c2 reach, probed the same way before the edit, after it and after the repair. */
  private static List<Outcome> reach(LabContainer c1, LabContainer c2) {
    return List.of(
        c1.tcp(NetnsLab.web(0), 443), c1.tcp(NetnsLab.web(1), 443), c2.tcp(NetnsLab.web(1), 443));
  }

  @ParameterizedTest(name = "{0} is found by {1}")
  @MethodSource("tamperingsAndChecks")
  void aHandEditedRuleSet_isFound_reportedAsDrift_andReinstalledWhole(
      Tampering tampering, Check check) throws Exception {
    lab.names().set(API, Duration.ofMinutes(5), NetnsLab.web(0));
    LabContainer c1 = lab.container(1);
    LabContainer c2 = lab.container(2);
    NftBackend backend = NftBackendKernelTest.backendFor(lab);
    // No guard: every edit that lets more through shows in what c1 (or c2, unattached) reaches.
    try (NftEgressEnforcer enforcer =
        LabNft.enforcer(lab).resolver(lab.names()).listener(events::add).build()) {
      enforcer.attach(c1.endpoint(), apiPolicy());
      Rules rules =
          new Rules(
              backend.ruleSetName(c1.id()),
              c1.endpoint(),
              apiPolicy(),
              lab.names().resolve(apiPolicy().hostNames()));
      List<Outcome> enforced = reach(c1, c2);
      assertEquals(List.of(Outcome.REACHED, Outcome.REFUSED, Outcome.REACHED), enforced);
      // A check that found it intact first: the next one compares again what has changed since.
      assertEquals(List.of(), enforcer.checkHealth(), "intact before the edit");

      tampering.apply(lab, ChainName.forContainer(c1.id()));
      assertFalse(backend.isIntact(rules.name(), rules.plan()), "the edit is a difference");
      if (tampering != Tampering.ADD_A_SET_OF_ITS_NAMING) {
        assertNotEquals(enforced, reach(c1, c2), "the edit changes what gets through");
      }
      events.clear();

      if (check == Check.RECONCILE) {
        ReconcileResult result = enforcer.reconcile(Set.of(c1.id()));
        assertEquals(Set.of(c1.id()), result.repaired());
      } else {
        List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();
        assertEquals(1, findings.size(), findings.toString());
      }

      List<EgressEvent.DriftDetected> reported =
          events.stream()
              .filter(e -> e instanceof EgressEvent.DriftDetected)
              .map(e -> (EgressEvent.DriftDetected) e)
              .toList();
      assertEquals(1, reported.size(), reported.toString());
      assertEquals(Subject.container(c1.id()), reported.get(0).subject());
      assertTrue(reported.get(0).repaired());
      assertTrue(backend.isIntact(rules.name(), rules.plan()), "reinstalled whole");
      assertEquals(enforced, reach(c1, c2));
      assertEquals(List.of(), enforcer.checkHealth(), "and it stays repaired");
    }
  }

  @Test
  void aRuleSetOfTheEarlierPerNameLayout_isReplacedByHostSets_whenTheUpgradedLauncherAttaches(
      @TempDir Path dir) throws Exception {
    lab.names().set(API, Duration.ofMinutes(5), NetnsLab.web(0));
    LabContainer c1 = lab.container(1);
    ChainName chain = ChainName.forContainer(c1.id());
    String c = "inet egress " + chain;
    try (NftEgressEnforcer enforcer = LabNft.enforcer(lab).resolver(lab.names()).build()) {
      enforcer.attach(c1.endpoint(), apiPolicy());
    }
    // What an earlier release loaded for the same policy: two sets per host name, rules on them.
    Path earlier =
        Files.writeString(
            dir.resolve("earlier.nft"),
            String.join(
                "\n",
                "flush chain " + c,
                "delete set " + c + "_4",
                "delete set " + c + "_6",
                "add set " + c + "_h0_4 { type ipv4_addr; }",
                "add set " + c + "_h0_6 { type ipv6_addr; }",
                "add element " + c + "_h0_4 { " + IpAddresses.format(NetnsLab.web(0)) + " }",
                "add rule " + c + " ct state established ct direction original counter accept",
                "add rule " + c + " ip daddr @" + chain + "_h0_4 tcp dport 443 counter accept",
                "add rule " + c + " ip6 daddr @" + chain + "_h0_6 tcp dport 443 counter accept",
                "add rule " + c + " counter goto deny",
                ""));
    lab.exec(lab.hostNamespace(), "nft", "-f", earlier.toString());
    assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443), "the earlier layout's meaning");

    // The upgraded launcher starts as after any restart: reconcile, then attach what runs.
    try (NftEgressEnforcer upgraded = LabNft.enforcer(lab).resolver(lab.names()).build()) {
      upgraded.reconcile(Set.of(c1.id()));
      upgraded.attach(c1.endpoint(), apiPolicy());

      String table = lab.exec(lab.hostNamespace(), "nft", "list", "table", "inet", "egress");
      assertFalse(table.contains("_h0_"), "the per-name sets are gone:\n" + table);
      assertTrue(table.contains("@" + chain.setName(Family.IPV4, false)), table);
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443));
      assertEquals(List.of(), upgraded.checkHealth(), "intact after the upgrade");
    }
  }

  @Test
  void wildcardNames_areRefused_andNothingIsAttached() throws Exception {
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = newEnforcer()) {
      EgressPolicy wildcard =
          EgressPolicy.builder()
              .allowTcp(Destination.host("*.example.test"), 443)
              .dns(DnsRule.none())
              .build();
      UnsupportedPolicyException refused =
          assertThrows(
              UnsupportedPolicyException.class, () -> enforcer.attach(c1.endpoint(), wildcard));
      assertTrue(refused.getMessage().contains("*.example.test"), refused.getMessage());
      assertTrue(enforcer.attachments().isEmpty());
      assertFalse(c1.tcp(NetnsLab.web(0), 443).reached());
    }
  }

  @Test
  void healthCheckAndReconcileListTheTableOnce_howeverManyAreAttached_reconcileAgainAfterRemovals()
      throws Exception {
    List<List<String>> listings = new CopyOnWriteArrayList<>();
    SystemProcessRunner system = new SystemProcessRunner();
    ProcessRunner recording =
        command -> {
          if (command.argv().contains("list")) {
            listings.add(command.argv());
          }
          return system.run(command);
        };
    NftGuard guard = new NftGuard(List.of(NetnsLab.BRIDGE), lab.containerNetworks(), true);
    // An enforcer of an earlier process left container 3's rule set behind.
    LabContainer left = lab.container(3);
    try (NftEgressEnforcer earlier =
        LabNft.enforcer(lab).resolver(lab.names()).guard(guard).noHealthChecks().build()) {
      earlier.attach(left.endpoint(), apiPolicy());
    }
    List<LabContainer> containers = List.of(lab.container(1), lab.container(2));
    try (NftEgressEnforcer enforcer =
        LabNft.enforcer(lab)
            .processRunner(recording)
            .resolver(lab.names())
            .guard(guard)
            .noHealthChecks()
            .build()) {
      for (LabContainer container : containers) {
        enforcer.attach(container.endpoint(), apiPolicy());
      }
      Set<ContainerId> live = Set.of(containers.get(0).id(), containers.get(1).id());

      // The leftover is removed, so the live rule sets are compared with a listing taken after.
      listings.clear();
      ReconcileResult first = enforcer.reconcile(live);
      assertEquals(Set.of(Subject.unowned(ChainName.forContainer(left.id()))), first.removed());
      assertEquals(Set.of(), first.repaired());
      assertEquals(2, tableListings(listings), listings.toString());

      // One listing for the host's guard and every rule set: not one per container.
      listings.clear();
      assertEquals(List.of(), enforcer.checkHealth());
      assertEquals(1, tableListings(listings), listings.toString());

      // Nothing to remove: one listing finds the rule sets installed and compares the live ones.
      listings.clear();
      ReconcileResult second = enforcer.reconcile(live);
      assertEquals(Set.of(), second.removed());
      assertEquals(Set.of(), second.repaired());
      assertEquals(1, tableListings(listings), listings.toString());
    }
  }

  private static long tableListings(List<List<String>> listings) {
    return listings.stream().filter(argv -> argv.contains("table")).count();
  }
}
