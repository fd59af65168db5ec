package dev.egress.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.Destination;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.FakeNameResolver;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RulesetEnforcerTest {
  private static final InetAddress API_V1 = IpAddresses.parse("192.0.2.10");
  private static final InetAddress API_V2 = IpAddresses.parse("192.0.2.20");
  private static final InetAddress OTHER = IpAddresses.parse("198.51.100.7");

  private final FakeBackend backend = new FakeBackend();
  private final FakeNameResolver resolver = new FakeNameResolver();
  private final List<EgressEvent> events = new CopyOnWriteArrayList<>();
  private final RulesetEnforcer enforcer =
      RulesetEnforcer.builder(backend)
          .resolver(resolver)
          .listener(events::add)
          .retryDelay(Duration.ofMillis(20))
          .build();

  /** Background retries far in the future: only the test's own calls race. */
  private final RulesetEnforcer noBackgroundRetries =
      RulesetEnforcer.builder(backend).resolver(resolver).retryDelay(Duration.ofHours(1)).build();

  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void close() {
    enforcer.close();
    noBackgroundRetries.close();
    threads.shutdownNow();
  }

  @Test
  void build_withoutAHealthSetting_schedulesTheHealthCheckEvery30Seconds_afterConstruction() {
    ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1);
    try (RulesetEnforcer defaults =
        RulesetEnforcer.builder(backend).resolver(resolver).scheduler(scheduler).build()) {
      assertEquals(1, scheduler.getQueue().size());
      long delay = ((ScheduledFuture<?>) scheduler.getQueue().peek()).getDelay(TimeUnit.SECONDS);
      assertTrue(delay > 25 && delay <= 30, "first check in " + delay + " s");
    } finally {
      scheduler.shutdownNow();
    }
  }

  @Test
  void noHealthChecks_schedulesNothing() {
    ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1);
    try (RulesetEnforcer quiet =
        RulesetEnforcer.builder(backend)
            .resolver(resolver)
            .scheduler(scheduler)
            .noHealthChecks()
            .build()) {
      assertTrue(scheduler.getQueue().isEmpty());
    } finally {
      scheduler.shutdownNow();
    }
  }

  @Test
  void healthInterval_ofZero_isRefused_andNamesTheWayToSwitchItOff() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> RulesetEnforcer.builder(backend).healthInterval(Duration.ZERO));
    assertTrue(e.getMessage().contains("noHealthChecks()"), e.getMessage());
  }

  @Test
  void attachments_leaveOutAContainerWhoseDetachFailsAndIsRetried() throws Exception {
    ContainerEndpoint container = container("a", "10.0.0.2");
    Attachment attachment = noBackgroundRetries.attach(container, EgressPolicy.denyAll());
    backend.failRemovals(true);

    assertThrows(EgressException.class, attachment::detach);

    assertEquals(List.of(), noBackgroundRetries.attachments());
  }

  /** Gives {@code call} a moment to finish; a correct engine may rightly still be waiting. */
  private static void letRun(Future<?> call) throws Exception {
    try {
      call.get(300, TimeUnit.MILLISECONDS);
    } catch (TimeoutException waiting) {
      // waiting for the held removal, as it should
    }
  }

  private static ContainerEndpoint container(String id, String address) {
    return new ContainerEndpoint(
        ContainerId.of(id), List.of(IpAddresses.parse(address)), IpAddresses.parse("192.168.64.1"));
  }

  /** Rules an earlier process left: the plan it installed for {@code container}. */
  private void plant(String name, ContainerEndpoint container, EgressPolicy policy) {
    backend.plant(name, EnforcementPlan.of(policy, container, Resolutions.none()));
  }

  private static Subject.Container attached(String id) {
    return Subject.container(ContainerId.of(id));
  }

  private static EgressPolicy policy(String text) throws Exception {
    return PolicyText.parse(text, "test");
  }

  @Test
  void attach_installsOnceAndAllowsExactlyThePolicy() throws Exception {
    resolver.set("api.example.com", API_V1);
    ContainerEndpoint agent = container("agent", "192.168.64.3");

    enforcer.attach(agent, policy("allow api.example.com port 443\nallow gateway port 3001\n"));

    assertEquals(1, backend.count("install "));
    InetAddress source = agent.addresses().get(0);
    assertTrue(backend.allows(source, Flow.tcp(API_V1, 443)));
    assertTrue(backend.allows(source, Flow.tcp(agent.gateway(), 3001)));
    assertFalse(backend.allows(source, Flow.tcp(API_V1, 80)));
    assertFalse(backend.allows(source, Flow.tcp(OTHER, 443)));
    assertTrue(events.get(events.size() - 1) instanceof EgressEvent.Attached);
  }

  @Test
  void counters_areTheBackendsCountsOfEachLiveAttachment_startingAgainAtAnUpdate()
      throws Exception {
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    ContainerEndpoint other = container("other", "192.168.64.4");
    Attachment attached = enforcer.attach(agent, policy("allow 192.0.2.10 port 443\n"));
    enforcer.attach(other, policy("allow 192.0.2.10 port 443\n")).detach();
    InetAddress source = agent.addresses().get(0);

    backend.send(source, Flow.tcp(API_V1, 443), 60);
    backend.send(source, Flow.tcp(API_V1, 443), 52);
    backend.send(source, Flow.tcp(OTHER, 443), 60);

    assertEquals(Map.of(agent.id(), new TrafficCounters(2, 112, 1, 60)), enforcer.counters());
    attached.update(policy("allow 192.0.2.10 port 80\n"));
    assertEquals(Map.of(agent.id(), TrafficCounters.ZERO), enforcer.counters());
  }

  @Test
  void counters_leaveOutAnAttachmentWhoseRulesAreGone_andFailWhenTheKernelCannotBeRead()
      throws Exception {
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    enforcer.attach(agent, policy("allow 192.0.2.10 port 443\n"));
    backend.wipe(backend.ruleSetName(agent.id()).toString());

    assertEquals(Map.of(), enforcer.counters());
    backend.failReads(true);
    assertThrows(EgressException.class, enforcer::counters);
    enforcer.close();
    assertThrows(IllegalStateException.class, enforcer::counters);
  }

  @Test
  void preview_resolvesAndPlansAsAttachWould_butRunsNoBackendCall() throws Exception {
    resolver.set("api.example.com", API_V1);
    ContainerEndpoint agent = container("agent", "192.168.64.3");

    Preview preview = enforcer.preview(agent, policy("allow api.example.com port 443\n"));

    assertEquals(new FakeBackend.Name("c-agent"), preview.name());
    assertTrue(preview.plan().permits(Flow.tcp(API_V1, 443)));
    assertFalse(preview.plan().permits(Flow.tcp(OTHER, 443)));
    assertTrue(backend.calls.isEmpty(), backend.calls.toString());
    assertTrue(enforcer.attachments().isEmpty());
    ContainerEndpoint noGateway =
        new ContainerEndpoint(ContainerId.of("bare"), agent.addresses(), null);
    assertThrows(
        IllegalArgumentException.class,
        () -> enforcer.preview(noGateway, policy("allow gateway port 3001\n")));
    assertThrows(
        UnsupportedPolicyException.class,
        () ->
            enforcer.preview(
                agent,
                EgressPolicy.builder().allowTcp(Destination.host("*.example.com"), 443).build()));
  }

  @Test
  void attach_whenInstallFails_removesLeftoversAndThrows() throws Exception {
    enforcer.reconcile(Set.of()); // the host is prepared; the install itself fails
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    backend.failNext(1);

    assertThrows(
        EgressException.class, () -> enforcer.attach(agent, policy("allow 192.0.2.10 port 443")));

    assertEquals(1, backend.count("remove c-agent"));
    assertFalse(backend.isInstalled("c-agent"));
    assertTrue(enforcer.attachments().isEmpty());
    assertTrue(events.stream().anyMatch(e -> e instanceof EgressEvent.Failed));
  }

  @Test
  void attach_whenInstallAndCleanupFail_keepsAddressesReservedUntilRemovalSucceeds()
      throws Exception {
    enforcer.reconcile(Set.of()); // the host is prepared; the install itself fails
    ContainerEndpoint first = container("first", "192.168.64.3");
    backend.failAlways(true);
    assertThrows(
        EgressException.class, () -> enforcer.attach(first, policy("allow 192.0.2.10 port 443")));
    assertEquals(Set.of(attached("first")), enforcer.pendingRemovals());

    ContainerEndpoint reuser = container("reuser", "192.168.64.3");
    assertThrows(EgressException.class, () -> enforcer.attach(reuser, EgressPolicy.denyAll()));

    backend.failAlways(false);
    enforcer.attach(reuser, policy("allow 198.51.100.7 port 443"));
    assertTrue(enforcer.pendingRemovals().isEmpty());
    assertTrue(backend.allows(reuser.addresses().get(0), Flow.tcp(OTHER, 443)));
    assertFalse(backend.allows(reuser.addresses().get(0), Flow.tcp(API_V1, 443)));
  }

  @Test
  void attach_beforeReconcile_removesARuleSetLeftOnItsAddressByAnEarlierProcess() throws Exception {
    ContainerEndpoint gone = container("gone", "192.168.64.3");
    ContainerEndpoint survivor = container("survivor", "192.168.64.4");
    plant("c-gone", gone, policy("allow 192.0.2.10 port 443"));
    plant("c-survivor", survivor, EgressPolicy.denyAll());
    ContainerEndpoint reuser = container("reuser", "192.168.64.3");

    enforcer.attach(reuser, policy("allow 198.51.100.7 port 443"));

    assertFalse(backend.isInstalled("c-gone"), "the leftover would govern the reused address");
    assertTrue(backend.isInstalled("c-survivor"), "rules on other addresses stay until reconcile");
    assertFalse(backend.allows(reuser.addresses().get(0), Flow.tcp(API_V1, 443)));
    assertTrue(backend.allows(reuser.addresses().get(0), Flow.tcp(OTHER, 443)));
  }

  @Test
  void attach_whenALeftoverOnItsAddressCannotBeRemoved_isRefused() throws Exception {
    ContainerEndpoint gone = container("gone", "192.168.64.3");
    plant("c-gone", gone, policy("allow 192.0.2.10 port 443"));
    enforcer.attach(container("other", "192.168.64.9"), EgressPolicy.denyAll()); // prepares
    backend.failNext(1);

    assertThrows(
        EgressException.class,
        () -> enforcer.attach(container("reuser", "192.168.64.3"), EgressPolicy.denyAll()));
    assertFalse(backend.isInstalled("c-reuser"));
  }

  @Test
  void attach_sameIdAndAddresses_isAnUpdateOfTheSameAttachment() throws Exception {
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    Attachment first = enforcer.attach(agent, policy("allow 192.0.2.10 port 443"));

    Attachment second = enforcer.attach(agent, policy("allow 198.51.100.7 port 443"));

    assertSame(first, second);
    assertEquals(1, enforcer.attachments().size());
    assertFalse(backend.allows(agent.addresses().get(0), Flow.tcp(API_V1, 443)));
    assertTrue(backend.allows(agent.addresses().get(0), Flow.tcp(OTHER, 443)));
  }

  @Test
  void attach_sameIdWithAnotherGateway_isRefused() throws Exception {
    enforcer.attach(container("agent", "192.168.64.3"), EgressPolicy.denyAll());
    ContainerEndpoint moved =
        new ContainerEndpoint(
            ContainerId.of("agent"),
            List.of(IpAddresses.parse("192.168.64.3")),
            IpAddresses.parse("192.168.64.254"));

    assertThrows(IllegalStateException.class, () -> enforcer.attach(moved, EgressPolicy.denyAll()));
  }

  @Test
  void afterClose_operationsAreRefusedAndRulesStay() throws Exception {
    Attachment attachment =
        enforcer.attach(container("agent", "192.168.64.3"), EgressPolicy.denyAll());

    enforcer.close();

    assertThrows(IllegalStateException.class, attachment::detach);
    assertThrows(IllegalStateException.class, () -> attachment.update(EgressPolicy.denyAll()));
    assertThrows(IllegalStateException.class, () -> enforcer.reconcile(Set.of()));
    assertThrows(
        IllegalStateException.class,
        () -> enforcer.attach(container("other", "192.168.64.4"), EgressPolicy.denyAll()));
    assertTrue(backend.isInstalled("c-agent"));
  }

  @Test
  void attach_addressOfAnotherLiveContainer_isRefused() throws Exception {
    enforcer.attach(container("first", "192.168.64.3"), EgressPolicy.denyAll());

    assertThrows(
        IllegalStateException.class,
        () -> enforcer.attach(container("second", "192.168.64.3"), EgressPolicy.denyAll()));
    assertEquals(1, backend.count("install "));
  }

  @Test
  void attach_gatewayPolicyWithoutGateway_isRefusedBeforeAnyCall() throws Exception {
    EgressPolicy usesGateway = policy("allow gateway port 3001");

    assertThrows(
        IllegalArgumentException.class,
        () -> enforcer.attach(IpAddresses.parse("192.168.64.3"), usesGateway));
    assertTrue(backend.calls.isEmpty());
  }

  @Test
  void attach_wildcardName_isRefusedBeforeAnyCall() {
    EgressPolicy wildcard =
        EgressPolicy.builder().allowTcp(Destination.host("*.example.com"), 443).build();

    assertThrows(
        UnsupportedPolicyException.class,
        () -> enforcer.attach(container("agent", "192.168.64.3"), wildcard));
    assertTrue(backend.calls.isEmpty());
  }

  @Test
  void update_whenInstallFails_keepsTheOldPolicy() throws Exception {
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    Attachment attachment = enforcer.attach(agent, policy("allow 192.0.2.10 port 443"));
    backend.failNext(1);

    assertThrows(
        EgressException.class, () -> attachment.update(policy("allow 198.51.100.7 port 443")));

    assertEquals(policy("allow 192.0.2.10 port 443"), attachment.policy());
    assertTrue(backend.allows(agent.addresses().get(0), Flow.tcp(API_V1, 443)));
    assertFalse(backend.allows(agent.addresses().get(0), Flow.tcp(OTHER, 443)));
  }

  @Test
  void detach_whenRemoveFails_keepsRulesRetriesInBackgroundAndReleasesAddressesAfterwards()
      throws Exception {
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    Attachment attachment = enforcer.attach(agent, policy("allow 192.0.2.10 port 443"));
    backend.failNext(1);

    assertThrows(EgressException.class, attachment::detach);
    assertTrue(backend.isInstalled("c-agent"), "rules stay while removal is pending");
    assertFalse(attachment.isActive());

    awaitTrue(() -> enforcer.pendingRemovals().isEmpty());
    assertFalse(backend.isInstalled("c-agent"));
    enforcer.attach(container("reuser", "192.168.64.3"), EgressPolicy.denyAll());
  }

  @Test
  void detach_isIdempotent() throws Exception {
    Attachment attachment =
        enforcer.attach(container("agent", "192.168.64.3"), EgressPolicy.denyAll());

    attachment.detach();
    attachment.detach();

    assertEquals(1, backend.count("remove"));
    assertTrue(enforcer.attachments().isEmpty());
  }

  @Test
  void refresh_replacesOnlyTheChangedNames() throws Exception {
    resolver.set("api.example.com", API_V1);
    resolver.set("cdn.example.com", OTHER);
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    enforcer.attach(
        agent, policy("allow api.example.com port 443\nallow cdn.example.com port 443"));

    resolver.set("api.example.com", API_V2);

    assertTrue(
        backend.calls.contains("refresh c-agent [api.example.com]"), backend.calls.toString());
    assertEquals(1, backend.count("install "));
    InetAddress source = agent.addresses().get(0);
    assertTrue(backend.allows(source, Flow.tcp(API_V2, 443)));
    assertFalse(backend.allows(source, Flow.tcp(API_V1, 443)));
    assertTrue(backend.allows(source, Flow.tcp(OTHER, 443)));
  }

  @Test
  void refresh_whenTheBackendFails_reinstallsInTheBackground() throws Exception {
    resolver.set("api.example.com", API_V1);
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    enforcer.attach(agent, policy("allow api.example.com port 443"));
    backend.failNext(1);

    resolver.set("api.example.com", API_V2);

    awaitTrue(() -> backend.allows(agent.addresses().get(0), Flow.tcp(API_V2, 443)));
    assertFalse(backend.allows(agent.addresses().get(0), Flow.tcp(API_V1, 443)));
  }

  @Test
  void reconcile_removesOrphansButKeepsRulesOfLiveContainersNotYetReattached() throws Exception {
    ContainerEndpoint orphan = container("orphan", "192.168.64.8");
    ContainerEndpoint survivor = container("survivor", "192.168.64.9");
    EgressPolicy policy = policy("allow 192.0.2.10 port 443");
    plant("c-orphan", orphan, policy);
    plant("c-survivor", survivor, policy);

    ReconcileResult result = enforcer.reconcile(Set.of(ContainerId.of("survivor")));

    assertEquals(Set.of(Subject.unowned(new FakeBackend.Name("c-orphan"))), result.removed());
    assertFalse(backend.isInstalled("c-orphan"));
    assertTrue(backend.isInstalled("c-survivor"), "a running container keeps its restrictions");
  }

  @Test
  void reconcile_detachesAttachmentsOfDeadContainersAndReinstallsWipedOnes() throws Exception {
    Attachment dead = enforcer.attach(container("dead", "192.168.64.3"), EgressPolicy.denyAll());
    Attachment wiped =
        enforcer.attach(container("wiped", "192.168.64.4"), policy("allow 192.0.2.10 port 443"));
    backend.wipe("c-wiped");

    ReconcileResult result = enforcer.reconcile(Set.of(ContainerId.of("wiped")));

    assertEquals(Set.of(attached("dead")), result.removed());
    assertEquals(Set.of(ContainerId.of("wiped")), result.repaired());
    assertFalse(dead.isActive());
    assertTrue(backend.allows(wiped.container().addresses().get(0), Flow.tcp(API_V1, 443)));
    assertEquals(
        List.of(Subject.container(ContainerId.of("wiped"))),
        events.stream()
            .filter(e -> e instanceof EgressEvent.DriftDetected drift && drift.repaired())
            .map(e -> ((EgressEvent.DriftDetected) e).subject())
            .toList(),
        "reconcile reports what it repaired as drift, as the health check does");
  }

  @Test
  void checkHealth_reinstallsAWipedRuleSetAndReportsHostProblems() throws Exception {
    enforcer.attach(container("agent", "192.168.64.3"), EgressPolicy.denyAll());
    backend.wipe("c-agent");
    backend.reportHostProblem("pf is disabled");

    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();

    assertTrue(backend.isInstalled("c-agent"));
    assertEquals(2, findings.size(), findings.toString());
    assertTrue(findings.stream().allMatch(EgressEvent.DriftDetected::repaired));
  }

  @Test
  void detach_retriedWhileTheSameContainerReattaches_neverRemovesTheNewRules() throws Exception {
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    Attachment old = noBackgroundRetries.attach(agent, policy("allow 192.0.2.10 port 443"));
    backend.failNext(1);
    assertThrows(EgressException.class, old::detach);

    FakeBackend.Gate slowRemoval = backend.holdNextRemove();
    Future<?> retry =
        threads.submit(
            () -> {
              old.detach();
              return null;
            });
    slowRemoval.awaitEntered();
    Future<Attachment> reattach =
        threads.submit(
            () -> noBackgroundRetries.attach(agent, policy("allow 192.0.2.10 port 443")));
    letRun(reattach);
    slowRemoval.open();
    retry.get(5, TimeUnit.SECONDS);
    Attachment fresh = reattach.get(5, TimeUnit.SECONDS);

    assertTrue(fresh.isActive());
    assertTrue(backend.isInstalled("c-agent"), "the re-attached container lost its rules");
    assertTrue(backend.allows(agent.addresses().get(0), Flow.tcp(API_V1, 443)));
  }

  @Test
  void reconcile_removingAnOrphanWhileThatContainerAttaches_keepsTheNewRules() throws Exception {
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    plant("c-agent", agent, policy("allow 198.51.100.7 port 443"));

    FakeBackend.Gate slowRemoval = backend.holdNextRemove();
    Future<ReconcileResult> reconcile =
        threads.submit(() -> noBackgroundRetries.reconcile(Set.of()));
    slowRemoval.awaitEntered();
    Future<Attachment> attach =
        threads.submit(
            () -> noBackgroundRetries.attach(agent, policy("allow 192.0.2.10 port 443")));
    letRun(attach);
    slowRemoval.open();
    reconcile.get(5, TimeUnit.SECONDS);
    Attachment attached = attach.get(5, TimeUnit.SECONDS);

    assertTrue(attached.isActive());
    List<String> sinceInstall =
        backend.calls.subList(backend.calls.indexOf("install c-agent"), backend.calls.size());
    assertFalse(
        sinceInstall.contains("remove c-agent"),
        "the attached container was without rules for a while: " + backend.calls);
    assertTrue(backend.isInstalled("c-agent"));
    assertTrue(backend.allows(agent.addresses().get(0), Flow.tcp(API_V1, 443)));
    assertFalse(backend.allows(agent.addresses().get(0), Flow.tcp(OTHER, 443)));
  }

  @Test
  void reconcile_whenAnOrphanCannotBeRemoved_aContainerReusingItsAddressNeverGetsItsRules()
      throws Exception {
    ContainerEndpoint gone = container("gone", "192.168.64.3");
    plant("c-gone", gone, policy("allow 198.51.100.7 port 443"));
    backend.failRemovals(true);
    assertThrows(EgressException.class, () -> noBackgroundRetries.reconcile(Set.of()));
    assertTrue(backend.isInstalled("c-gone"));
    backend.failRemovals(false);

    ContainerEndpoint reuser = container("reuser", "192.168.64.3");
    noBackgroundRetries.attach(reuser, policy("allow 192.0.2.10 port 443"));

    assertFalse(backend.isInstalled("c-gone"));
    assertFalse(
        backend.allows(reuser.addresses().get(0), Flow.tcp(OTHER, 443)),
        "the orphan's rules still govern the reused address");
    assertTrue(backend.allows(reuser.addresses().get(0), Flow.tcp(API_V1, 443)));
  }

  @Test
  void attach_whileAnOrphanRemovalIsPendingAndStillFails_isRefused() throws Exception {
    ContainerEndpoint gone = container("gone", "192.168.64.3");
    plant("c-gone", gone, policy("allow 198.51.100.7 port 443"));
    backend.failRemovals(true);
    assertThrows(EgressException.class, () -> noBackgroundRetries.reconcile(Set.of()));
    assertTrue(backend.isInstalled("c-gone"));

    ContainerEndpoint reuser = container("reuser", "192.168.64.3");
    assertThrows(
        EgressException.class,
        () -> noBackgroundRetries.attach(reuser, policy("allow 192.0.2.10 port 443")));

    assertFalse(backend.isInstalled("c-reuser"));
    assertFalse(backend.calls.contains("install c-reuser"), backend.calls.toString());
  }

  @Test
  void checkHealth_whenTheRuleSetCannotBeReadBack_reinstallsIt() throws Exception {
    ContainerEndpoint agent = container("agent", "192.168.64.3");
    enforcer.attach(agent, policy("allow 192.0.2.10 port 443"));
    backend.wipe("c-agent");
    backend.failReads(true);

    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();

    assertTrue(backend.isInstalled("c-agent"), "a rule set that cannot be read back stays missing");
    assertTrue(backend.allows(agent.addresses().get(0), Flow.tcp(API_V1, 443)));
    assertTrue(
        findings.stream().anyMatch(f -> f.subject().equals(attached("agent"))),
        findings.toString());
  }

  @Test
  void checkHealth_whenTheHostCannotBeChecked_stillReloadsTheParentHook() throws Exception {
    enforcer.attach(container("agent", "192.168.64.3"), EgressPolicy.denyAll());
    long preparesBefore = backend.count("prepare");
    backend.failReads(true);

    List<EgressEvent.DriftDetected> findings = enforcer.checkHealth();

    assertEquals(preparesBefore + 1, backend.count("prepare"), backend.calls.toString());
    assertTrue(
        findings.stream().anyMatch(f -> f.subject().equals(Subject.host()) && !f.repaired()),
        findings.toString());
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    for (int i = 0; i < 200 && !condition.getAsBoolean(); i++) {
      Thread.sleep(10);
    }
    assertTrue(condition.getAsBoolean(), "condition not met within 2 s");
  }
}
