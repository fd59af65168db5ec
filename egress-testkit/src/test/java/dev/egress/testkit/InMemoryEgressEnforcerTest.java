package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The fake passes the conformance kit; its own extras (faults, events, drift) are tested here. */
class InMemoryEgressEnforcerTest extends EgressEnforcerContract {

  @Override
  protected Harness newHarness() {
    return new FakeHarness(InMemoryEgressEnforcer.builder());
  }

  /** A harness over the fake: addresses are data, nothing is ever sent. */
  static final class FakeHarness implements Harness {
    private static final InetAddress GATEWAY = IpAddresses.parse("10.200.0.1");
    private final FakeNameResolver resolver = new FakeNameResolver();
    private final InMemoryEgressEnforcer enforcer;
    private int containers;

    FakeHarness(InMemoryEgressEnforcer.Builder builder) {
      this.enforcer = builder.resolver(resolver).build();
    }

    @Override
    public InMemoryEgressEnforcer enforcer() {
      return enforcer;
    }

    @Override
    public FakeNameResolver resolver() {
      return resolver;
    }

    @Override
    public synchronized ContainerEndpoint newContainer() {
      int n = 2 + containers++;
      return new ContainerEndpoint(
          ContainerId.of("box-" + n),
          List.of(IpAddresses.parse("10.200.0." + n), IpAddresses.parse("fd00:200::" + n)),
          GATEWAY);
    }

    @Override
    public InetAddress internetAddress(int index) {
      if (index < 0 || index > 3) {
        throw new IllegalArgumentException("index must be 0-3, got " + index);
      }
      return IpAddresses.parse("198.51.100." + (10 + index));
    }

    @Override
    public boolean allows(ContainerEndpoint source, Flow flow) {
      return enforcer.wouldAllow(source.addresses().get(0), flow);
    }

    @Override
    public void failPrivilegedOperations(boolean failing) {
      enforcer.failAllOperations(failing);
    }

    @Override
    public void close() {
      enforcer.close();
    }
  }

  private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");
  private static final InetAddress API = IpAddresses.parse("198.51.100.10");
  private static final InetAddress DB = IpAddresses.parse("198.51.100.11");

  private final List<EgressEvent> events = new CopyOnWriteArrayList<>();
  private final FakeHarness fake =
      new FakeHarness(
          InMemoryEgressEnforcer.builder()
              .clock(Clock.fixed(NOW, ZoneOffset.UTC))
              .listener(events::add));
  private final ContainerEndpoint box = fake.newContainer();

  private static EgressPolicy only(InetAddress address, int port) {
    return EgressPolicy.builder()
        .allowTcp(new Destination.Network(dev.egress.policy.IpNetwork.host(address)), port)
        .dns(DnsRule.none())
        .build();
  }

  private boolean reaches(InetAddress address, int port) {
    return fake.allows(box, Flow.tcp(address, port));
  }

  private List<Class<?>> eventTypes() {
    return events.stream().map(Object::getClass).collect(Collectors.toList());
  }

  @Nested
  class FaultInjection {
    @Test
    void failNextOperations_failsExactlyThatManyPrivilegedOperations() throws Exception {
      fake.enforcer().failNextOperations(2);

      assertThrows(EgressException.class, () -> fake.enforcer().attach(box, only(API, 443)));
      assertThrows(EgressException.class, () -> fake.enforcer().attach(box, only(API, 443)));
      Attachment attachment = fake.enforcer().attach(box, only(API, 443));

      assertTrue(attachment.isActive());
      assertTrue(reaches(API, 443));
      assertEquals(3, fake.enforcer().privilegedOperations());
    }

    @Test
    void attach_thatFails_leavesNothingAttached_andReportsAFailedEvent() throws Exception {
      fake.enforcer().failNextOperations(1);

      EgressException e =
          assertThrows(EgressException.class, () -> fake.enforcer().attach(box, only(API, 443)));

      assertTrue(e.getMessage().contains(box.id().value()), e.getMessage());
      assertFalse(e.hint().isEmpty());
      assertTrue(fake.enforcer().attachments().isEmpty());
      assertFalse(reaches(API, 443));
      assertEquals(1, events.size(), events.toString());
      EgressEvent.Failed failed = (EgressEvent.Failed) events.get(0);
      assertEquals(NOW, failed.time());
      assertEquals(Subject.container(box.id()), failed.subject());
      assertEquals(EgressEvent.Operation.ATTACH, failed.operation());
      assertTrue(failed.message().contains(box.id().value()), failed.message());
    }

    @Test
    void attach_thatFails_closesItsResolverSubscription() throws Exception {
      EgressPolicy byName =
          EgressPolicy.builder()
              .allowTcp(Destination.host("api.egress.test"), 443)
              .dns(DnsRule.none())
              .build();
      fake.enforcer().failNextOperations(1);

      assertThrows(EgressException.class, () -> fake.enforcer().attach(box, byName));

      assertEquals(0, fake.resolver().subscriptionCount());
    }

    @Test
    void update_thatFails_keepsTheOldPolicyAndItsSubscription() throws Exception {
      fake.resolver().set("old.egress.test", API);
      Attachment attachment =
          fake.enforcer()
              .attach(
                  box,
                  EgressPolicy.builder()
                      .allowTcp(Destination.host("old.egress.test"), 443)
                      .dns(DnsRule.none())
                      .build());
      fake.enforcer().failNextOperations(1);

      assertThrows(
          EgressException.class,
          () ->
              attachment.update(
                  EgressPolicy.builder()
                      .allowTcp(Destination.host("new.egress.test"), 443)
                      .dns(DnsRule.none())
                      .build()));

      assertEquals(Set.of(HostName.of("old.egress.test")), fake.resolver().subscribedNames());
      fake.resolver().set("old.egress.test", DB);
      assertTrue(reaches(DB, 443), "the old policy's name is still followed");
      assertFalse(reaches(API, 443));
    }

    @Test
    void detach_thatFails_listsTheContainerAsPendingRemoval_andTheNextDetachRetries()
        throws Exception {
      Attachment attachment = fake.enforcer().attach(box, only(API, 443));
      fake.enforcer().failNextOperations(1);

      assertThrows(EgressException.class, attachment::detach);

      assertEquals(Set.of(Subject.container(box.id())), fake.enforcer().pendingRemovals());
      assertFalse(attachment.isActive());
      assertTrue(fake.enforcer().attachments().isEmpty());
      assertTrue(reaches(API, 443), "the rules stay in place: no more, no less than the policy");
      assertFalse(reaches(DB, 443));

      attachment.detach();

      assertEquals(Set.of(), fake.enforcer().pendingRemovals());
      assertFalse(reaches(API, 443));
      assertTrue(events.get(events.size() - 1) instanceof EgressEvent.Detached);
    }

    @Test
    void update_ofAContainerPendingRemoval_throwsIllegalState() throws Exception {
      Attachment attachment = fake.enforcer().attach(box, only(API, 443));
      fake.enforcer().failNextOperations(1);
      assertThrows(EgressException.class, attachment::detach);

      assertThrows(IllegalStateException.class, () -> attachment.update(only(DB, 443)));
      assertFalse(reaches(DB, 443));
    }

    @Test
    void attach_reusingTheAddressesOfAPendingRemoval_retriesTheRemovalFirst() throws Exception {
      Attachment attachment = fake.enforcer().attach(box, only(API, 443));
      fake.enforcer().failNextOperations(1);
      assertThrows(EgressException.class, attachment::detach);
      ContainerEndpoint successor =
          new ContainerEndpoint(ContainerId.of("successor"), box.addresses(), box.gateway());

      fake.enforcer().attach(successor, only(DB, 443));

      assertEquals(Set.of(), fake.enforcer().pendingRemovals());
      assertFalse(reaches(API, 443));
      assertTrue(reaches(DB, 443));
    }

    @Test
    void attach_reusingTheAddressesOfAPendingRemoval_whileFailing_throwsAndKeepsTheOldRules()
        throws Exception {
      Attachment attachment = fake.enforcer().attach(box, only(API, 443));
      fake.enforcer().failAllOperations(true);
      assertThrows(EgressException.class, attachment::detach);
      ContainerEndpoint successor =
          new ContainerEndpoint(ContainerId.of("successor"), box.addresses(), box.gateway());

      assertThrows(EgressException.class, () -> fake.enforcer().attach(successor, only(DB, 443)));

      assertEquals(Set.of(Subject.container(box.id())), fake.enforcer().pendingRemovals());
      assertTrue(reaches(API, 443));
      assertFalse(reaches(DB, 443));
    }

    @Test
    void reconcile_retriesPendingRemovals_evenOfIdsReportedLive() throws Exception {
      Attachment attachment = fake.enforcer().attach(box, only(API, 443));
      fake.enforcer().failNextOperations(1);
      assertThrows(EgressException.class, attachment::detach);

      ReconcileResult result = fake.enforcer().reconcile(Set.of(box.id()));

      assertEquals(Set.of(Subject.container(box.id())), result.removed());
      assertFalse(reaches(API, 443));
    }

    @Test
    void reconcile_thatPartlyFails_keepsWhatSucceeded_andThrows() throws Exception {
      ContainerEndpoint other = fake.newContainer();
      fake.enforcer().attach(box, only(API, 443));
      fake.enforcer().attach(other, only(API, 443));
      fake.enforcer().failNextOperations(1);

      EgressException e =
          assertThrows(EgressException.class, () -> fake.enforcer().reconcile(Set.of()));

      assertTrue(e.getMessage().contains("1 container"), e.getMessage());
      assertEquals(1, fake.enforcer().pendingRemovals().size());
      assertEquals(
          Set.of(),
          fake.enforcer().attachments().stream()
              .map(a -> a.container().id())
              .collect(Collectors.toSet()));
      assertEquals(1, fake.enforcer().reconcile(Set.of()).removed().size());
    }

    @Test
    void refresh_thatFails_keepsTheOldAddresses_andReportsIt() throws Exception {
      fake.resolver().set("api.egress.test", API);
      fake.enforcer()
          .attach(
              box,
              EgressPolicy.builder()
                  .allowTcp(Destination.host("api.egress.test"), 443)
                  .dns(DnsRule.none())
                  .build());
      fake.enforcer().failNextOperations(1);

      fake.resolver().set("api.egress.test", DB);

      assertTrue(reaches(API, 443));
      assertFalse(reaches(DB, 443));
      assertTrue(events.get(events.size() - 1) instanceof EgressEvent.Failed);
    }

    @Test
    void operationDelay_makesEachOperationWait_andAnInterruptedAttachChangesNothing()
        throws Exception {
      fake.enforcer().setOperationDelay(Duration.ofSeconds(30));
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        Future<Attachment> attaching =
            pool.submit(() -> fake.enforcer().attach(box, only(API, 443)));
        Thread.sleep(50);
        assertFalse(attaching.isDone(), "attach returned before its delay");
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS));
        java.util.concurrent.ExecutionException failure =
            assertThrows(java.util.concurrent.ExecutionException.class, attaching::get);
        assertTrue(failure.getCause() instanceof EgressException, failure.toString());
      } finally {
        pool.shutdownNow();
      }
      assertTrue(fake.enforcer().attachments().isEmpty());
      assertFalse(reaches(API, 443));
    }

    @Test
    void validationErrors_consumeNoInjectedFault() throws Exception {
      ContainerEndpoint noGateway =
          new ContainerEndpoint(ContainerId.of("bare"), List.of(DB), null);
      fake.enforcer().failNextOperations(1);
      assertThrows(
          IllegalArgumentException.class,
          () ->
              fake.enforcer()
                  .attach(
                      noGateway,
                      EgressPolicy.builder().allowTcp(Destination.gateway(), 3001).build()));

      assertThrows(EgressException.class, () -> fake.enforcer().attach(box, only(API, 443)));
      assertEquals(1, fake.enforcer().privilegedOperations());
    }
  }

  @Nested
  class Events {
    @Test
    void lifecycle_reportsAttachedUpdatedRefreshedDetached_stampedByTheClock() throws Exception {
      EgressPolicy byName =
          EgressPolicy.builder()
              .allowTcp(Destination.host("api.egress.test"), 443)
              .dns(DnsRule.none())
              .build();
      Attachment attachment = fake.enforcer().attach(box, only(API, 443));
      attachment.update(byName);
      fake.resolver().set("api.egress.test", DB);
      attachment.detach();

      assertEquals(
          List.of(
              new EgressEvent.Attached(NOW, box, only(API, 443)),
              new EgressEvent.Updated(NOW, box, byName),
              new EgressEvent.AddressesRefreshed(
                  NOW, box.id(), Set.of(HostName.of("api.egress.test"))),
              new EgressEvent.Detached(NOW, Subject.container(box.id()))),
          events);
    }

    @Test
    void aListenerThatThrows_changesNothing() throws Exception {
      InMemoryEgressEnforcer enforcer =
          InMemoryEgressEnforcer.builder()
              .resolver(new FakeNameResolver())
              .listener(
                  event -> {
                    throw new IllegalStateException("listener bug");
                  })
              .build();

      enforcer.attach(box, only(API, 443));

      assertTrue(enforcer.wouldAllow(box.addresses().get(0), Flow.tcp(API, 443)));
    }

    @Test
    void detach_closesTheResolverSubscription() throws Exception {
      Attachment attachment =
          fake.enforcer()
              .attach(
                  box,
                  EgressPolicy.builder()
                      .allowTcp(Destination.host("api.egress.test"), 443)
                      .dns(DnsRule.none())
                      .build());
      assertEquals(1, fake.resolver().subscriptionCount());

      attachment.detach();

      assertEquals(0, fake.resolver().subscriptionCount());
    }
  }

  @Nested
  class Extras {
    @Test
    void wildcards_areRefused_withoutDnsFiltering() {
      EgressPolicy wildcard =
          EgressPolicy.builder()
              .allowTcp(Destination.host("*.egress.test"), 443)
              .dns(DnsRule.none())
              .build();

      UnsupportedPolicyException e =
          assertThrows(
              UnsupportedPolicyException.class, () -> fake.enforcer().attach(box, wildcard));

      assertTrue(e.getMessage().contains("*.egress.test"), e.getMessage());
      assertEquals(0, fake.enforcer().privilegedOperations());
    }

    @Test
    void wildcards_areAccepted_withDnsFiltering_butAllowNothingByThemselves() throws Exception {
      FakeHarness filtering =
          new FakeHarness(
              InMemoryEgressEnforcer.builder().dnsFilter(IpAddresses.parse("10.213.0.1")));
      filtering.resolver().set("api.egress.test", API);
      EgressPolicy wildcard =
          EgressPolicy.builder()
              .allowTcp(Destination.host("*.egress.test"), 443)
              .dns(DnsRule.none())
              .build();

      Attachment attachment = filtering.enforcer().attach(box, wildcard);

      assertTrue(attachment.isActive());
      assertFalse(filtering.allows(box, Flow.tcp(API, 443)));
    }

    @Test
    void droppedRules_allowNothing_untilReconcileRepairsThem() throws Exception {
      fake.enforcer().attach(box, only(API, 443));
      fake.enforcer().dropRules(box.id());
      assertFalse(reaches(API, 443));

      ReconcileResult result = fake.enforcer().reconcile(Set.of(box.id()));

      assertEquals(Set.of(box.id()), result.repaired());
      assertTrue(reaches(API, 443));
      assertTrue(events.get(events.size() - 1) instanceof EgressEvent.DriftDetected);
    }

    @Test
    void anotherAddressOfTheContainer_isGovernedByTheSamePolicy() throws Exception {
      fake.enforcer().attach(box, only(API, 443));

      assertTrue(fake.enforcer().wouldAllow(box.addresses().get(1), Flow.tcp(API, 443)));
      assertFalse(fake.enforcer().wouldAllow(box.addresses().get(1), Flow.tcp(DB, 443)));
    }

    @Test
    void attach_afterClose_throwsIllegalState_butRulesStay() throws Exception {
      fake.enforcer().attach(box, only(API, 443));
      fake.enforcer().close();

      assertThrows(
          IllegalStateException.class,
          () -> fake.enforcer().attach(fake.newContainer(), only(API, 443)));
      assertTrue(reaches(API, 443));
    }

    @Test
    void attach_viaTheAddressOnlyOverload_usesTheAddressAsId() throws Exception {
      EgressEnforcer enforcer = fake.enforcer();
      InetAddress address = box.addresses().get(0);

      Attachment attachment = enforcer.attach(address, only(API, 443));

      assertEquals(IpAddresses.format(address), attachment.container().id().value());
      assertSame(attachment, enforcer.attach(address, only(DB, 443)));
      assertTrue(fake.enforcer().wouldAllow(address, Flow.tcp(DB, 443)));
    }

    @Test
    void builder_withoutResolver_isRefused() {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> InMemoryEgressEnforcer.builder().build());
      assertTrue(e.getMessage().contains("resolver"), e.getMessage());
    }
  }
}
