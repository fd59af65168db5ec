package dev.egress.examples.launcher;

import static dev.egress.examples.launcher.LauncherFixture.ALLOWED;
import static dev.egress.examples.launcher.LauncherFixture.DENIED;
import static dev.egress.examples.launcher.LauncherFixture.agent;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.container.ContainerCli;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.Subject;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import dev.egress.testkit.container.FakeContainer;
import dev.egress.testkit.container.FakeContainerRunner;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LauncherTest {
  @TempDir Path root;
  private LauncherFixture fixture;
  private final InMemoryEgressEnforcer enforcer =
      InMemoryEgressEnforcer.builder().resolver(new FakeNameResolver()).build();

  /** Ids with rules in place: attached, or pending a failed removal. */
  private Set<String> ruleSets() {
    return LauncherFixture.ruleSets(enforcer);
  }

  @BeforeEach
  void setUp() throws Exception {
    fixture = new LauncherFixture(root);
  }

  private static EgressPolicy policy(String text) throws Exception {
    return PolicyText.parse(text, "test");
  }

  @Test
  void launch_waitsForTheAddress_attachesTheGroupPolicy_thenHandsOut() throws Exception {
    fixture.script(s -> s.inspectsWithoutAddress = 3);
    Launcher launcher = fixture.started(enforcer, b -> {});

    ManagedContainer container = launcher.launch("main", agent());

    assertEquals("nanoclaw-main-1700000000000", container.id());
    ContainerEndpoint endpoint = container.endpoint();
    assertEquals(
        List.of(IpAddresses.parse("192.168.64.2"), IpAddresses.parse("fd00:6e61:6e6f::2")),
        endpoint.addresses());
    assertEquals(IpAddresses.parse("192.168.64.1"), endpoint.gateway());
    assertEquals(Set.of(container.id()), ruleSets());
    assertEquals(policy(LauncherFixture.MAIN_POLICY), enforcer.attachments().get(0).policy());
    assertEquals(List.of(), fixture.work());

    ProcessResult result = container.exec(List.of("agent-runner", "--prompt", "hello"));

    assertTrue(result.succeeded());
    assertEquals(List.of("agent-runner --prompt hello"), fixture.work());
    assertEquals(
        "main", fixture.fake().containers.get(container.id()).labels.get(Launcher.GROUP_LABEL));
    assertEquals(1, fixture.events(LauncherEvent.Launched.class).size());
  }

  @Test
  void launch_withAnEnforcerBuiltWithADnsFilter_tellsTheContainerToUseTheFilter() throws Exception {
    InetAddress filter = IpAddresses.parse("192.168.64.1");
    InMemoryEgressEnforcer filtered =
        InMemoryEgressEnforcer.builder().resolver(new FakeNameResolver()).dnsFilter(filter).build();
    Launcher launcher = fixture.started(filtered, b -> {});

    launcher.launch("main", agent());

    List<String> runs = fixture.calls("run ");
    assertEquals(1, runs.size());
    assertEquals(List.of("192.168.64.1"), dnsArguments(runs.get(0)));
  }

  @Test
  void launch_withResolversGiven_tellsTheContainerThoseInsteadOfTheFilter() throws Exception {
    InMemoryEgressEnforcer filtered =
        InMemoryEgressEnforcer.builder()
            .resolver(new FakeNameResolver())
            .dnsFilter(IpAddresses.parse("192.168.64.1"))
            .build();
    Launcher launcher =
        fixture.started(filtered, b -> b.containerDns(List.of(IpAddresses.parse("192.168.64.53"))));

    launcher.launch("main", agent());

    assertEquals(List.of("192.168.64.53"), dnsArguments(fixture.calls("run ").get(0)));
  }

  @Test
  void launch_withoutAFilterOrResolvers_leavesTheRuntimesDefault() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});

    launcher.launch("main", agent());

    assertEquals(List.of(), dnsArguments(fixture.calls("run ").get(0)));
  }

  /** The values of a recorded {@code container run} call's {@code --dns} options, in order. */
  private static List<String> dnsArguments(String call) {
    List<String> words = List.of(call.split(" "));
    List<String> values = new ArrayList<>();
    for (int i = 0; i + 1 < words.size(); i++) {
      if (words.get(i).equals("--dns")) {
        values.add(words.get(i + 1));
      }
    }
    return values;
  }

  @Test
  void launch_whenAttachThrows_stopsTheContainerAndHandsNothingOut() throws Exception {
    enforcer.failAllOperations(true);
    Launcher launcher = fixture.started(enforcer, b -> {});

    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("failed"), e.getMessage());
    assertEquals(List.of(), fixture.running());
    assertEquals(List.of("stop nanoclaw-main-1700000000000"), fixture.calls("stop"));
    assertEquals(List.of(), fixture.calls("exec"));
    assertEquals(Set.of(), ruleSets());
    assertEquals(List.of(), launcher.containers());
    assertEquals(1, fixture.events(LauncherEvent.LaunchFailed.class).size());
  }

  @Test
  void launch_whenTheAddressNeverAppears_stopsAfterTheBoundWithAClearError() throws Exception {
    fixture.script(s -> s.neverGetsAddress = true);
    Launcher launcher = fixture.started(enforcer, b -> b.addressTimeout(Duration.ofMillis(200)));

    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("no IP address after 200 ms"), e.getMessage());
    assertEquals(List.of(), fixture.running());
    assertEquals(Set.of(), ruleSets());
    assertEquals(List.of(), fixture.calls("exec"));
  }

  @Test
  void launch_whenTheContainerExitsAtOnce_failsWithoutAttaching() throws Exception {
    fixture.script(s -> s.exitsAtOnce = true);
    Launcher launcher = fixture.started(enforcer, b -> {});

    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("disappeared before it had an address"), e.getMessage());
    assertEquals(Set.of(), ruleSets());
  }

  @Test
  void launch_whenRunFails_reportsAndLeavesNothing() throws Exception {
    fixture.script(s -> s.runFails = true);
    Launcher launcher = fixture.started(enforcer, b -> {});

    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("failed to bootstrap container"), e.getMessage());
    assertEquals(Set.of(), ruleSets());
    assertEquals(List.of(), launcher.containers());
  }

  @Test
  void launch_whenTheSelfCheckReachesADeniedDestination_raisesEnforcementFailureAndStops()
      throws Exception {
    fixture.script(s -> s.reachable = Set.of(DENIED.toString(), ALLOWED.toString()));
    Launcher launcher = fixture.started(enforcer, b -> b.selfCheck(SelfCheck.of(DENIED, ALLOWED)));

    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("does not block"), e.getMessage());
    List<LauncherEvent.EnforcementFailure> alarms =
        fixture.events(LauncherEvent.EnforcementFailure.class);
    assertEquals(1, alarms.size());
    assertTrue(alarms.get(0).description().contains("198.51.100.1:443"));
    assertEquals(List.of(), fixture.running());
    assertEquals(Set.of(), ruleSets());
    assertEquals(List.of(), fixture.work());
  }

  @Test
  void launch_whenTheSelfCheckPasses_probesBothDestinationsThenHandsOut() throws Exception {
    fixture.script(s -> s.reachable = Set.of(ALLOWED.toString()));
    Launcher launcher = fixture.started(enforcer, b -> b.selfCheck(SelfCheck.of(DENIED, ALLOWED)));

    ManagedContainer container = launcher.launch("main", agent());

    assertEquals(
        List.of(
            "exec " + container.id() + " nc -z -w 3 198.51.100.1 443",
            "exec " + container.id() + " nc -z -w 3 192.0.2.10 443"),
        fixture.calls("exec"));
    assertTrue(container.isActive());
    assertEquals(List.of(), fixture.events(LauncherEvent.EnforcementFailure.class));
  }

  @Test
  void launch_whenProbesGoThroughTheEnforcersOwnDecision_theSelfCheckPasses() throws Exception {
    ContainerCli cli =
        LauncherFixture.cli(
            new FakeContainerRunner(
                fixture.state,
                (source, destination, port) ->
                    enforcer.wouldAllow(source, Flow.tcp(destination, port))));
    Launcher launcher =
        fixture.builder(enforcer, cli).selfCheck(SelfCheck.of(DENIED, ALLOWED)).build();
    launcher.start();

    ManagedContainer container = launcher.launch("main", agent());

    assertTrue(container.isActive());
    assertEquals(2, fixture.calls("exec " + container.id() + " nc").size());
  }

  @Test
  void launch_withTheNodeProbe_forImagesWithoutNetcat_probesTheSameDestinations() throws Exception {
    fixture.script(s -> s.reachable = Set.of(ALLOWED.toString()));
    Launcher launcher =
        fixture.started(
            enforcer,
            b -> b.selfCheck(new SelfCheck(DENIED, ALLOWED, SelfCheck.ProbeCommand.node())));

    ManagedContainer container = launcher.launch("main", agent());

    List<String> probes = fixture.calls("exec " + container.id() + " node -e");
    assertEquals(2, probes.size());
    assertTrue(probes.get(0).endsWith(" 198.51.100.1 443"), probes.get(0));
    assertTrue(probes.get(1).endsWith(" 192.0.2.10 443"), probes.get(1));
  }

  @Test
  void launch_whenTheAllowedProbeFails_stopsWithoutRaisingAnAlarm() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> b.selfCheck(SelfCheck.of(DENIED, ALLOWED)));

    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("proves nothing"), e.getMessage());
    assertEquals(List.of(), fixture.events(LauncherEvent.EnforcementFailure.class));
    assertEquals(List.of(), fixture.running());
  }

  @Test
  void launch_whenTheSelfCheckDoesNotFitThePolicy_refusesRatherThanRaiseFalseAlarms()
      throws Exception {
    SelfCheck.Probe allowedAsDenied = ALLOWED;
    Launcher launcher =
        fixture.started(enforcer, b -> b.selfCheck(SelfCheck.of(allowedAsDenied, ALLOWED)));

    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("is allowed by the policy"), e.getMessage());
    assertEquals(List.of(), fixture.calls("exec"));
    assertEquals(Set.of(), ruleSets());
  }

  @Test
  void launch_forAGroupWithoutPolicyFile_startsNothing() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> launcher.launch("other", agent()));

    assertTrue(e.getMessage().contains("other.policy"), e.getMessage());
    assertEquals(List.of(), fixture.calls("run"));
  }

  @Test
  void launch_beforeStart_isRefused() throws Exception {
    Launcher launcher = fixture.builder(enforcer).build();

    assertThrows(IllegalStateException.class, () -> launcher.launch("main", agent()));
  }

  @Test
  void stop_stopsTheContainerThenRemovesItsRules() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});
    ManagedContainer container = launcher.launch("main", agent());
    Attachment attachment = enforcer.attachments().get(0);

    container.stop();
    container.stop();

    assertEquals(List.of(), fixture.running());
    assertEquals(Set.of(), ruleSets());
    assertFalse(attachment.isActive());
    assertFalse(container.isActive());
    assertThrows(IllegalStateException.class, () -> container.exec(List.of("agent-runner")));
    assertEquals(1, fixture.events(LauncherEvent.Stopped.class).size());
  }

  @Test
  void stop_whenTheContainerWillNotStop_keepsItsRulesAndGivesItNoMoreWork() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});
    ManagedContainer container = launcher.launch("main", agent());
    fixture.script(s -> s.stopFails = true);

    assertThrows(LaunchException.class, container::stop);

    assertEquals(Set.of(container.id()), ruleSets());
    assertFalse(container.isActive());
    assertThrows(IllegalStateException.class, () -> container.exec(List.of("agent-runner")));

    fixture.script(s -> s.stopFails = false);
    launcher.sweepExited();

    assertEquals(List.of(), fixture.running());
    assertEquals(Set.of(), ruleSets());
  }

  @Test
  void stop_whenTheCliSaysNotFoundButTheContainerRuns_keepsItsRules() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});
    ManagedContainer container = launcher.launch("main", agent());
    fixture.script(s -> s.stopSaysNotFound = true);

    assertThrows(LaunchException.class, container::stop);

    assertEquals(List.of(container.id()), fixture.running());
    assertEquals(Set.of(container.id()), ruleSets());
  }

  @Test
  void stop_afterAFailedStop_retries() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});
    ManagedContainer container = launcher.launch("main", agent());
    fixture.script(s -> s.stopFails = true);
    assertThrows(LaunchException.class, container::stop);
    fixture.script(s -> s.stopFails = false);

    container.stop();

    assertEquals(List.of(), fixture.running());
    assertEquals(Set.of(), ruleSets());
  }

  @Test
  void close_stopsEveryContainerAndRemovesTheirRules() throws Exception {
    fixture.writePolicy("docs", "allow 203.0.113.0/24 port 443\n");
    Launcher launcher = fixture.started(enforcer, b -> {});
    launcher.launch("main", agent());
    launcher.launch("docs", agent());

    launcher.close();

    assertEquals(List.of(), fixture.running());
    assertEquals(Set.of(), ruleSets());
    assertEquals(List.of(), launcher.containers());
    assertEquals(2, fixture.events(LauncherEvent.Stopped.class).size());
  }

  @Test
  void sweepExited_whenAContainerExitedByItself_removesItsRules() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});
    ManagedContainer exits = launcher.launch("main", agent());
    ManagedContainer stays = launcher.launch("main", agent());

    FakeContainer.exit(fixture.state, exits.id());
    launcher.maintain();

    assertEquals(Set.of(stays.id()), ruleSets());
    assertEquals(List.of(stays), launcher.containers());
    assertEquals(
        List.of(exits.id()),
        fixture.events(LauncherEvent.Exited.class).stream()
            .map(LauncherEvent::containerId)
            .toList());
  }

  @Test
  void reloadPolicies_updatesTheChangedGroupsContainersOnly() throws Exception {
    fixture.writePolicy("docs", "allow 203.0.113.0/24 port 443\ndns none\n");
    Launcher launcher = fixture.started(enforcer, b -> {});
    ManagedContainer main = launcher.launch("main", agent());
    ManagedContainer docs = launcher.launch("docs", agent());
    String newMain = "allow 192.0.2.11 port 443\ndns gateway\n";

    fixture.writePolicy("main", newMain);
    List<PolicyRegistry.Change> changes = launcher.reloadPolicies();

    assertEquals(List.of("main"), changes.stream().map(PolicyRegistry.Change::group).toList());
    assertEquals(policy(newMain), main.policy());
    assertEquals(policy("allow 203.0.113.0/24 port 443\ndns none\n"), docs.policy());
    assertEquals(List.of(), launcher.reloadPolicies());
  }

  @Test
  void reloadPolicies_whenAFileBecomesInvalid_theGroupDeniesEverything() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});
    ManagedContainer main = launcher.launch("main", agent());

    fixture.writePolicy("main", "allow api.anthropic.com prot 443\n");
    launcher.reloadPolicies();

    assertEquals(EgressPolicy.denyAll(), main.policy());
    List<LauncherEvent.PolicyRejected> rejected =
        fixture.events(LauncherEvent.PolicyRejected.class);
    assertEquals(1, rejected.size());
    assertTrue(rejected.get(0).problem().contains("main.policy"), rejected.get(0).problem());
  }

  @Test
  void reloadPolicies_whenTheEnforcerCannotUpdate_stopsTheContainer() throws Exception {
    Launcher launcher = fixture.started(enforcer, b -> {});
    ManagedContainer main = launcher.launch("main", agent());
    enforcer.failNextOperations(1);

    fixture.writePolicy("main", "allow 192.0.2.11 port 443\n");
    launcher.reloadPolicies();

    assertFalse(main.isActive());
    assertEquals(List.of(), fixture.running());
    assertEquals(Set.of(), ruleSets());
  }

  @Test
  void start_afterALauncherDiedMidLaunch_stopsItsOrphansAndRemovesTheirRules() throws Exception {
    KillableRunner dying = new KillableRunner(new FakeContainerRunner(fixture.state));
    Launcher first = fixture.builder(enforcer, LauncherFixture.cli(dying)).build();
    first.start();
    ManagedContainer attached = first.launch("main", agent());
    fixture.script(s -> s.neverGetsAddress = true);
    ExecutorService thread = Executors.newSingleThreadExecutor();
    Future<ManagedContainer> midLaunch = thread.submit(() -> first.launch("main", agent()));
    while (fixture.running().size() < 2) {
      Thread.sleep(5);
    }
    dying.kill();
    assertThrows(Exception.class, midLaunch::get);
    thread.shutdown();
    fixture.script(s -> s.neverGetsAddress = false);
    // Not ours: started by hand, attached by someone else; it must survive the reconcile.
    fixture
        .cli()
        .runDetached(dev.egress.container.ContainerRunSpec.builder("someone-else", "img").build());
    enforcer.attach(
        new ContainerEndpoint(
            ContainerId.of("someone-else"), List.of(IpAddresses.parse("192.168.64.9")), null),
        EgressPolicy.denyAll());
    List<String> orphans = new ArrayList<>(fixture.running());
    orphans.remove("someone-else");
    assertEquals(2, orphans.size());
    assertEquals(Set.of(attached.id(), "someone-else"), ruleSets());

    Launcher second = fixture.builder(enforcer).build();
    Launcher.StartReport report = second.start();

    assertEquals(orphans, report.orphansStopped().stream().sorted().toList());
    assertEquals(
        Set.of(Subject.container(ContainerId.of(attached.id()))), report.enforcer().removed());
    assertEquals(List.of("someone-else"), fixture.running());
    assertEquals(Set.of("someone-else"), ruleSets());
  }

  @Test
  void launch_severalGroupsAtOnce_eachContainerGetsItsGroupsPolicy() throws Exception {
    List<String> groups = List.of("alpha", "beta", "gamma");
    for (String group : groups) {
      fixture.writePolicy(group, "allow 203.0.113." + (groups.indexOf(group) + 1) + " port 443\n");
    }
    Launcher launcher = fixture.started(enforcer, b -> {});
    ExecutorService pool = Executors.newFixedThreadPool(6);
    List<Future<ManagedContainer>> launches = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String group = groups.get(i % 3);
      launches.add(pool.submit(() -> launcher.launch(group, agent())));
    }
    List<ManagedContainer> containers = new ArrayList<>();
    for (Future<ManagedContainer> launch : launches) {
      containers.add(launch.get());
    }
    pool.shutdown();

    assertEquals(6, ruleSets().size());
    for (ManagedContainer container : containers) {
      assertEquals(
          policy("allow 203.0.113." + (groups.indexOf(container.group()) + 1) + " port 443\n"),
          container.policy());
    }
    assertEquals(
        6, containers.stream().map(c -> c.endpoint().addresses().get(0)).distinct().count());
  }

  @Test
  void managedNetwork_isCreatedAtStart_andAnAddressOutsideItIsRefused() throws Exception {
    ContainerNetwork network =
        new ContainerNetwork(
            "egress-managed",
            IpNetwork.parse("10.213.0.0/24"),
            IpNetwork.parse("fd00:10:213::/64"));
    Launcher launcher = fixture.started(enforcer, b -> b.managedNetwork(network));

    ManagedContainer inside = launcher.launch("main", agent());

    assertEquals(IpAddresses.parse("10.213.0.2"), inside.endpoint().addresses().get(0));
    assertTrue(network.covers(inside.endpoint().addresses().get(1)));
    assertEquals(IpAddresses.parse("10.213.0.1"), inside.endpoint().gateway());
    assertEquals(
        List.of(
            "network create egress-managed --subnet 10.213.0.0/24"
                + " --subnet-v6 fd00:10:213::/64"),
        fixture.calls("network create"));

    fixture.script(s -> s.forcedAddress = "192.168.64.50");
    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("outside the managed network"), e.getMessage());
    assertEquals(Set.of(inside.id()), ruleSets());
  }

  @Test
  void launch_onAManagedNetworkWithoutIpv6Prefix_refusesAContainerWithAnUnguardedIpv6Address()
      throws Exception {
    ContainerNetwork network =
        new ContainerNetwork("egress-managed", IpNetwork.parse("10.213.0.0/24"));
    Launcher launcher = fixture.started(enforcer, b -> b.managedNetwork(network));

    LaunchException e = assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertTrue(e.getMessage().contains("fd00:6e61:6e6f::"), e.getMessage());
    assertTrue(e.getMessage().contains("outside the managed network"), e.getMessage());
    assertEquals(Set.of(), ruleSets());
    assertEquals(List.of(), fixture.running());
    assertEquals(List.of(), fixture.work());
    assertEquals(1, fixture.events(LauncherEvent.LaunchFailed.class).size());
  }

  @Test
  void build_withoutAManagedNetwork_orTheUnguardedOptIn_isRefused_beforeAnyContainerRuns()
      throws Exception {
    Launcher.Builder builder =
        Launcher.builder(fixture.cli(), enforcer, PolicyRegistry.load(fixture.policyDir))
            .image("nanoclaw-agent:latest");

    IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);

    assertTrue(e.getMessage().contains("acceptUnguardedStartupWindow"), e.getMessage());
    assertTrue(e.getMessage().contains("managedNetwork"), e.getMessage());
    assertEquals(List.of(), fixture.fake().calls);
    assertEquals(Set.of(), ruleSets());
  }

  @Test
  void build_withAManagedNetwork_needsNoOptIn() throws Exception {
    Launcher launcher =
        Launcher.builder(fixture.cli(), enforcer, PolicyRegistry.load(fixture.policyDir))
            .image("nanoclaw-agent:latest")
            .pollInterval(Duration.ofMillis(1))
            .managedNetwork(
                new ContainerNetwork(
                    "egress-managed",
                    IpNetwork.parse("10.213.0.0/24"),
                    IpNetwork.parse("fd00:10:213::/64")))
            .build();
    launcher.start();

    ManagedContainer container = launcher.launch("main", agent());

    assertEquals(IpAddresses.parse("10.213.0.2"), container.endpoint().addresses().get(0));
    assertEquals(Set.of(container.id()), ruleSets());
  }

  @Test
  void launch_throughTheContainerExecutableOnThePath_inThe0_8Format() throws Exception {
    Path bin = FakeContainer.install(root, fixture.state);
    fixture.script(
        s -> {
          s.format = FakeContainer.Format.V0_8;
          s.inspectsWithoutAddress = 1;
        });
    ContainerCli cli =
        new ContainerCli(
            new SystemProcessRunner(), bin.resolve("container").toString(), Duration.ofSeconds(30));
    Launcher launcher = fixture.builder(enforcer, cli).pollInterval(Duration.ofMillis(50)).build();
    launcher.start();

    ManagedContainer container = launcher.launch("main", agent());
    assertEquals(List.of(IpAddresses.parse("192.168.64.2")), container.endpoint().addresses());
    container.stop();

    assertEquals(List.of(), fixture.running());
    assertEquals(Set.of(), ruleSets());
  }

  /** A runner that, once killed, fails every call: the launcher process is gone. */
  private static final class KillableRunner implements ProcessRunner {
    private final ProcessRunner delegate;
    private volatile boolean killed;

    KillableRunner(ProcessRunner delegate) {
      this.delegate = delegate;
    }

    void kill() {
      killed = true;
    }

    @Override
    public ProcessResult run(Command command) throws IOException, InterruptedException {
      if (killed) {
        throw new IOException("launcher process killed");
      }
      return delegate.run(command);
    }
  }
}
