package dev.egress.examples.launcher;

import static dev.egress.examples.launcher.LauncherFixture.ALLOWED;
import static dev.egress.examples.launcher.LauncherFixture.DENIED;
import static dev.egress.examples.launcher.LauncherFixture.agent;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.container.ContainerCli;
import dev.egress.container.ContainerRunSpec;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.container.FakeContainerRunner;
import dev.egress.testkit.pf.FakePfctl;
import dev.egress.testkit.pf.PfPacket;
import dev.egress.testkit.pf.PfVerdict;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher over the real pf enforcer, with pf itself replaced by the testkit's FakePfctl: the
 * fake container's probes are decided by pf's rules as the fake holds them, so the self-check sees
 * what pf would do.
 */
class LauncherOverPfTest {
  private static final String BRIDGE = "bridge101";
  private static final ContainerNetwork NETWORK =
      new ContainerNetwork(
          "egress-managed", IpNetwork.parse("10.213.0.0/24"), IpNetwork.parse("fd00:10:213::/64"));

  /** The guard covers both subnets of the managed network. */
  private static final ParentAnchor GUARDED =
      ParentAnchor.defaults()
          .guarding(
              dev.egress.pf.render.ManagedNetwork.of(NETWORK.subnet(), NETWORK.ipv6Subnet()),
              false);

  @TempDir Path root;
  private LauncherFixture fixture;
  private final FakePfctl pf = new FakePfctl();
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

  @BeforeEach
  void setUp() throws Exception {
    fixture = new LauncherFixture(root);
  }

  @AfterEach
  void tearDown() {
    scheduler.shutdownNow();
  }

  private PfEgressEnforcer enforcer(ParentAnchor parent) {
    return PfEgressEnforcer.builder()
        .resolver(new FakeNameResolver())
        .processRunner(pf)
        .pfctlCommand(List.of("/sbin/pfctl"))
        .parentAnchor(parent)
        .scheduler(scheduler)
        .retryDelay(Duration.ofHours(1))
        .build();
  }

  /** The fake container CLI whose probes pass exactly when pf passes the packet. */
  private ContainerCli cliThroughPf() {
    return LauncherFixture.cli(new FakeContainerRunner(fixture.state, this::pfPasses));
  }

  private boolean pfPasses(InetAddress source, InetAddress destination, int port) {
    return pf.verdict(
            ParentAnchor.DEFAULT_PATH.value(),
            PfPacket.in(BRIDGE, PfPacket.IpProtocol.TCP, source, destination, port))
        == PfVerdict.PASS;
  }

  private Map<String, FakePfctl.Anchor> containerAnchors() {
    return pf.anchors().entrySet().stream()
        .filter(
            e -> e.getKey().startsWith(ParentAnchor.DEFAULT_PATH + "/") && !e.getValue().isEmpty())
        .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
  }

  private Launcher launcher(PfEgressEnforcer enforcer) throws Exception {
    Launcher launcher =
        fixture
            .builder(enforcer, cliThroughPf())
            .managedNetwork(NETWORK)
            .selfCheck(SelfCheck.of(DENIED, ALLOWED))
            .build();
    launcher.start();
    return launcher;
  }

  @Test
  void launch_selfCheckSeesPfBlockTheDeniedAndPassTheAllowed_andStopRemovesTheAnchor()
      throws Exception {
    Launcher launcher = launcher(enforcer(GUARDED));

    ManagedContainer container = launcher.launch("main", agent());

    InetAddress source = container.endpoint().addresses().get(0);
    assertTrue(container.isActive());
    assertEquals(1, containerAnchors().size());
    assertFalse(pfPasses(source, DENIED.address(), DENIED.port()));
    assertTrue(pfPasses(source, ALLOWED.address(), ALLOWED.port()));
    assertTrue(pfPasses(source, IpAddresses.parse("10.213.0.1"), 3001), "gateway port 3001");

    container.stop();

    assertEquals(Map.of(), containerAnchors());
    assertFalse(
        pfPasses(source, ALLOWED.address(), ALLOWED.port()),
        "the guard blocks the address once its anchor is gone");
    assertEquals(List.of(), pf.refusedCalls());
  }

  @Test
  void startUpWindow_onTheManagedNetwork_theGuardBlocksAStartedButUnattachedContainer()
      throws Exception {
    launcher(enforcer(GUARDED));
    fixture
        .cli()
        .runDetached(
            ContainerRunSpec.builder("nanoclaw-main-1", "img").network(NETWORK.name()).build());
    InetAddress unattached =
        fixture.cli().inspect("nanoclaw-main-1").orElseThrow().addresses().get(0);

    assertTrue(NETWORK.covers(unattached));
    assertFalse(pfPasses(unattached, ALLOWED.address(), ALLOWED.port()));
    assertFalse(pfPasses(unattached, DENIED.address(), DENIED.port()));
    InetAddress unattached6 =
        fixture.cli().inspect("nanoclaw-main-1").orElseThrow().addresses().get(1);
    assertTrue(NETWORK.covers(unattached6));
    assertFalse(pfPasses(unattached6, IpAddresses.parse("2001:db8::1"), 443));
  }

  @Test
  void startUpWindow_onTheDefaultNetworkWithoutGuard_anUnattachedContainerReachesAnything()
      throws Exception {
    Launcher launcher = fixture.builder(enforcer(ParentAnchor.defaults()), cliThroughPf()).build();
    launcher.start();
    fixture.cli().runDetached(ContainerRunSpec.builder("nanoclaw-main-1", "img").build());
    InetAddress unattached =
        fixture.cli().inspect("nanoclaw-main-1").orElseThrow().addresses().get(0);

    // The honest limit of the default network: until attach, nothing restricts the container.
    assertTrue(pfPasses(unattached, DENIED.address(), DENIED.port()));
  }

  @Test
  void launch_whenPfctlCannotLoadTheAnchor_stopsTheContainerAndLeavesNoRules() throws Exception {
    Launcher launcher = launcher(enforcer(GUARDED));
    pf.failOn("-f -", 0, 1, "pfctl: DIOCADDRULE: Device busy");

    assertThrows(LaunchException.class, () -> launcher.launch("main", agent()));

    assertEquals(List.of(), fixture.running());
    assertEquals(Map.of(), containerAnchors());
    assertEquals(List.of(), fixture.work());
  }

  @Test
  void restart_withANewEnforcerOverTheSameKernel_stopsOrphansAndRemovesTheirAnchors()
      throws Exception {
    Launcher dead = launcher(enforcer(GUARDED));
    dead.launch("main", agent());
    dead.launch("main", agent());
    assertEquals(2, containerAnchors().size());

    // The launcher process died with its enforcer: pf keeps the anchors, the containers run on.
    Launcher restarted =
        fixture.builder(enforcer(GUARDED), cliThroughPf()).managedNetwork(NETWORK).build();
    Launcher.StartReport report = restarted.start();

    assertEquals(2, report.orphansStopped().size());
    assertEquals(2, report.enforcer().removed().size());
    assertEquals(List.of(), fixture.running());
    assertEquals(Map.of(), containerAnchors());
  }

  @Test
  void reloadPolicies_overPf_changesWhatTheRunningContainerMayReach() throws Exception {
    Launcher launcher = launcher(enforcer(GUARDED));
    ManagedContainer container = launcher.launch("main", agent());
    InetAddress source = container.endpoint().addresses().get(0);

    fixture.writePolicy("main", "allow 192.0.2.11 port 443\ndns gateway\n");
    launcher.reloadPolicies();

    assertTrue(pfPasses(source, IpAddresses.parse("192.0.2.11"), 443));
    assertFalse(pfPasses(source, ALLOWED.address(), ALLOWED.port()));
  }
}
