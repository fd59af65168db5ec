package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The conformance kit: what every {@link EgressEnforcer} must do, observed from outside. An
 * implementation's test extends this class and supplies a {@link Harness}:
 *
 * <p>Why one class of this size: it is the specification as tests, in {@code @Nested} groups; an
 * implementer extends one class, and split into several an implementation could pass part of the
 * kit and be called conformant.
 *
 * <pre>{@code
 * class PfEgressEnforcerTest extends EgressEnforcerContract {
 *   @Override
 *   protected Harness newHarness() throws Exception {
 *     return new PfHarness();   // builds the enforcer with a FakeNameResolver
 *   }
 * }
 * }</pre>
 *
 * <p>The kit probes only TCP ports 443, 5432, 5433, 8443, 53 towards {@link
 * Harness#internetAddress} addresses, TCP 3001 towards the container's gateway, and UDP 3478 and 53
 * towards internet addresses, so a real-kernel harness needs listeners on exactly those. Each test
 * makes a handful of probes; most are expected to be refused.
 *
 * <p>Host names used by the kit end in {@code .egress.test} and resolve only through the harness's
 * {@link FakeNameResolver}.
 */
public abstract class EgressEnforcerContract {

  /** A fresh subject for one test: an enforcer, its resolver, and a way to probe flows. */
  public interface Harness extends AutoCloseable {
    /** The enforcer under test. */
    EgressEnforcer enforcer();

    /** The resolver the enforcer was built with. */
    FakeNameResolver resolver();

    /**
     * A fresh, unattached container with a gateway; its id and addresses are unique within this
     * harness.
     */
    ContainerEndpoint newContainer();

    /** Index 0..3: four distinct IPv4 destination addresses the harness can probe. */
    InetAddress internetAddress(int index);

    /** Whether a packet from {@code source} opening {@code flow} gets through now. */
    boolean allows(ContainerEndpoint source, Flow flow) throws Exception;

    /** While true, every kernel-changing operation of the enforcer fails. */
    void failPrivilegedOperations(boolean failing);

    @Override
    void close() throws Exception;
  }

  /** A fresh subject per test. */
  protected abstract Harness newHarness() throws Exception;

  /** How long a refresh may take to reach the enforcement point. */
  protected Duration refreshTimeout() {
    return Duration.ofSeconds(5);
  }

  private static final String SERVICE = "service.egress.test";

  /** Bounds the probes of the one test that probes while it changes rules. */
  private static final int MAX_CONCURRENT_PROBES = 200;

  private @Nullable Harness harness;

  @BeforeEach
  void createHarness() throws Exception {
    harness = newHarness();
  }

  @AfterEach
  void closeHarness() throws Exception {
    Harness h = harness;
    harness = null;
    if (h != null) {
      h.failPrivilegedOperations(false);
      h.close();
    }
  }

  private Harness h() {
    Harness h = harness;
    if (h == null) {
      throw new IllegalStateException("no harness: newHarness() is called before each test");
    }
    return h;
  }

  private InetAddress net(int index) {
    return h().internetAddress(index);
  }

  /**
   * The policy most tests use. {@code SERVICE} resolves to internet 0.
   *
   * <pre>
   * allow service.egress.test port 443
   * allow INTERNET1 port 1-1000 proto tcp      (spans 53, which must stay closed)
   * allow INTERNET1 port 3478 proto tcp        (UDP 3478 to it stays closed)
   * allow INTERNET1 port 5432
   * allow gateway port 3001
   * allow INTERNET2 port 3478 proto udp
   * dns INTERNET3
   * </pre>
   */
  private EgressPolicy standardPolicy() {
    h().resolver().set(SERVICE, net(0));
    return EgressPolicy.builder()
        .allowTcp(Destination.host(SERVICE), 443)
        .allow(network(net(1)), Protocol.TCP, new PortRange(1, 1000))
        .allow(network(net(1)), Protocol.TCP, PortRange.of(3478))
        .allowTcp(network(net(1)), 5432)
        .allowTcp(Destination.gateway(), 3001)
        .allow(network(net(2)), Protocol.UDP, PortRange.of(3478))
        .dns(DnsRule.servers(net(3)))
        .build();
  }

  /** Allows TCP 443 to internet {@code index} and nothing else. */
  private EgressPolicy onlyHttpsTo(int index) {
    return EgressPolicy.builder().allowTcp(network(net(index)), 443).dns(DnsRule.none()).build();
  }

  private static Destination network(InetAddress address) {
    return new Destination.Network(IpNetwork.host(address));
  }

  private Flow https(int index) {
    return Flow.tcp(net(index), 443);
  }

  private static Flow gatewayProxy(ContainerEndpoint container) {
    InetAddress gateway = container.gateway();
    if (gateway == null) {
      throw new IllegalStateException("Harness.newContainer() must give containers a gateway");
    }
    return Flow.tcp(gateway, 3001);
  }

  private void assertAllowed(ContainerEndpoint source, Flow flow) throws Exception {
    assertTrue(h().allows(source, flow), source.id() + " should reach " + flow);
  }

  private void assertDenied(ContainerEndpoint source, Flow flow) throws Exception {
    assertFalse(h().allows(source, flow), source.id() + " must not reach " + flow);
  }

  private void eventually(ContainerEndpoint source, Flow flow, boolean expected) throws Exception {
    long deadline = System.nanoTime() + refreshTimeout().toNanos();
    while (h().allows(source, flow) != expected) {
      if (System.nanoTime() > deadline) {
        fail(
            source.id()
                + (expected ? " should reach " : " must not reach ")
                + flow
                + " within "
                + refreshTimeout()
                + " after the resolver's answer changed");
      }
      Thread.sleep(10);
    }
  }

  private Set<ContainerId> attachedIds() {
    return h().enforcer().attachments().stream()
        .map(a -> a.container().id())
        .collect(Collectors.toSet());
  }

  @Nested
  class Attach {
    @Test
    void attachedContainer_reachesWhatThePolicyAllows() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().enforcer().attach(container, standardPolicy());

      assertAllowed(container, https(0));
      assertAllowed(container, Flow.tcp(net(1), 5432));
      assertAllowed(container, gatewayProxy(container));
      assertAllowed(container, Flow.udp(net(2), 3478));
      assertAllowed(container, Flow.udp(net(3), 53));
    }

    @Test
    void attachedContainer_reachesNothingElse() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().enforcer().attach(container, standardPolicy());

      assertDenied(container, Flow.tcp(net(0), 8443)); // other port
      assertDenied(container, Flow.tcp(net(1), 5433)); // the port next to an allowed one
      assertDenied(container, https(2)); // other address
      assertDenied(container, Flow.udp(net(1), 3478)); // other protocol
      assertDenied(container, Flow.tcp(net(1), 53)); // port 53 inside an allowed range
      assertDenied(container, Flow.udp(net(0), 53)); // DNS to a non-resolver
    }

    @Test
    void attach_returnsALiveAttachmentThatIsListed() throws Exception {
      ContainerEndpoint container = h().newContainer();
      EgressPolicy policy = standardPolicy();
      Attachment attachment = h().enforcer().attach(container, policy);

      assertTrue(attachment.isActive());
      assertEquals(container, attachment.container());
      assertEquals(policy, attachment.policy());
      assertEquals(Set.of(container.id()), attachedIds());
    }

    @Test
    void counters_listEachLiveAttachment_andNoDetachedOne() throws Exception {
      ContainerEndpoint kept = h().newContainer();
      ContainerEndpoint gone = h().newContainer();
      h().enforcer().attach(kept, onlyHttpsTo(0));
      h().enforcer().attach(gone, onlyHttpsTo(1)).detach();

      assertEquals(Set.of(kept.id()), h().enforcer().counters().keySet());
    }

    @Test
    void neverAttachedContainer_reachesNothing() throws Exception {
      ContainerEndpoint attached = h().newContainer();
      ContainerEndpoint stranger = h().newContainer();
      h().enforcer().attach(attached, standardPolicy());

      assertDenied(stranger, https(0));
      assertDenied(stranger, Flow.udp(net(3), 53));
      assertDenied(stranger, gatewayProxy(stranger));
    }

    @Test
    void twoContainers_doNotSharePolicies() throws Exception {
      ContainerEndpoint first = h().newContainer();
      ContainerEndpoint second = h().newContainer();
      h().enforcer().attach(first, onlyHttpsTo(0));
      h().enforcer().attach(second, onlyHttpsTo(1));

      assertAllowed(first, https(0));
      assertDenied(first, https(1));
      assertAllowed(second, https(1));
      assertDenied(second, https(0));
    }

    @Test
    void attach_withAnAddressOfAnotherAttachedContainer_throwsIllegalState() throws Exception {
      ContainerEndpoint owner = h().newContainer();
      h().enforcer().attach(owner, onlyHttpsTo(0));
      ContainerEndpoint intruder =
          new ContainerEndpoint(
              ContainerId.of(owner.id() + "-other"), owner.addresses(), owner.gateway());

      assertThrows(
          IllegalStateException.class, () -> h().enforcer().attach(intruder, onlyHttpsTo(1)));
      assertAllowed(owner, https(0));
      assertDenied(owner, https(1));
      assertEquals(Set.of(owner.id()), attachedIds());
    }

    @Test
    void attach_ofAnAttachedIdWithOtherAddresses_throwsIllegalState() throws Exception {
      ContainerEndpoint first = h().newContainer();
      ContainerEndpoint elsewhere = h().newContainer();
      h().enforcer().attach(first, onlyHttpsTo(0));
      ContainerEndpoint sameIdOtherAddresses =
          new ContainerEndpoint(first.id(), elsewhere.addresses(), elsewhere.gateway());

      assertThrows(
          IllegalStateException.class,
          () -> h().enforcer().attach(sameIdOtherAddresses, onlyHttpsTo(0)));
      assertDenied(elsewhere, https(0));
      assertAllowed(first, https(0));
    }

    @Test
    void attach_ofAGatewayPolicy_toAContainerWithoutGateway_throwsIllegalArgument()
        throws Exception {
      ContainerEndpoint withGateway = h().newContainer();
      ContainerEndpoint noGateway =
          new ContainerEndpoint(withGateway.id(), withGateway.addresses(), null);

      assertThrows(
          IllegalArgumentException.class, () -> h().enforcer().attach(noGateway, standardPolicy()));
      assertTrue(attachedIds().isEmpty());
      assertDenied(withGateway, https(0));
    }

    @Test
    void attach_ofAWildcardPolicy_isRefusedWhole_orEnforced() throws Exception {
      ContainerEndpoint container = h().newContainer();
      EgressPolicy wildcard =
          EgressPolicy.builder()
              .allowTcp(Destination.host("*.wild.egress.test"), 443)
              .allowTcp(network(net(1)), 5432)
              .dns(DnsRule.none())
              .build();

      try {
        Attachment attachment = h().enforcer().attach(container, wildcard);
        assertTrue(attachment.isActive());
        assertAllowed(container, Flow.tcp(net(1), 5432));
      } catch (UnsupportedPolicyException refused) {
        assertTrue(attachedIds().isEmpty(), "a refused policy must leave nothing attached");
        assertDenied(container, Flow.tcp(net(1), 5432));
      }
      assertDenied(container, https(2));
    }
  }

  @Nested
  class Update {
    @Test
    void update_replacesThePolicy() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, onlyHttpsTo(0));

      attachment.update(onlyHttpsTo(1));

      assertEquals(onlyHttpsTo(1), attachment.policy());
      assertDenied(container, https(0));
      assertAllowed(container, https(1));
    }

    @Test
    void update_neverOpensAGapForFlowsBothPoliciesAllow() throws Exception {
      ContainerEndpoint container = h().newContainer();
      EgressPolicy first =
          EgressPolicy.builder()
              .allowTcp(network(net(0)), 443)
              .allowTcp(network(net(1)), 5432)
              .dns(DnsRule.none())
              .build();
      EgressPolicy second =
          EgressPolicy.builder()
              .allowTcp(network(net(0)), 443)
              .allow(network(net(2)), Protocol.UDP, PortRange.of(3478))
              .dns(DnsRule.none())
              .build();
      Attachment attachment = h().enforcer().attach(container, first);
      AtomicBoolean updating = new AtomicBoolean(true);
      AtomicInteger refused = new AtomicInteger();
      AtomicInteger probes = new AtomicInteger();
      ExecutorService prober = Executors.newSingleThreadExecutor();
      try {
        Future<?> probing =
            prober.submit(
                () -> {
                  while (updating.get() && probes.get() < MAX_CONCURRENT_PROBES) {
                    probes.incrementAndGet();
                    if (!h().allows(container, https(0))) {
                      refused.incrementAndGet();
                    }
                  }
                  return null;
                });
        for (int i = 0; i < 10; i++) {
          attachment.update(i % 2 == 0 ? second : first);
        }
        updating.set(false);
        probing.get(30, TimeUnit.SECONDS);
      } finally {
        updating.set(false);
        prober.shutdownNow();
      }
      assertEquals(
          0,
          refused.get(),
          "a flow allowed by both policies was refused during update (" + probes + " probes)");
      assertAllowed(container, Flow.tcp(net(1), 5432));
      assertDenied(container, Flow.udp(net(2), 3478));
    }

    @Test
    void update_toDenyAll_leavesTheContainerNothing() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, standardPolicy());

      attachment.update(EgressPolicy.denyAll());

      assertDenied(container, https(0));
      assertDenied(container, Flow.udp(net(3), 53));
      assertTrue(attachment.isActive());
    }

    @Test
    void update_afterDetach_throwsIllegalState() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, onlyHttpsTo(0));
      attachment.detach();

      assertThrows(IllegalStateException.class, () -> attachment.update(onlyHttpsTo(1)));
      assertDenied(container, https(1));
    }

    @Test
    void update_toAGatewayPolicy_withoutGateway_throwsAndKeepsTheOldPolicy() throws Exception {
      ContainerEndpoint fresh = h().newContainer();
      ContainerEndpoint noGateway = new ContainerEndpoint(fresh.id(), fresh.addresses(), null);
      Attachment attachment = h().enforcer().attach(noGateway, onlyHttpsTo(0));

      assertThrows(IllegalArgumentException.class, () -> attachment.update(standardPolicy()));
      assertEquals(onlyHttpsTo(0), attachment.policy());
      assertAllowed(noGateway, https(0));
      assertDenied(noGateway, Flow.tcp(net(1), 5432));
    }
  }

  @Nested
  class Detach {
    @Test
    void detach_removesEverything() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, standardPolicy());

      attachment.detach();

      assertFalse(attachment.isActive());
      assertTrue(attachedIds().isEmpty());
      assertDenied(container, https(0));
      assertDenied(container, gatewayProxy(container));
      assertDenied(container, Flow.udp(net(3), 53));
    }

    @Test
    void detach_twice_doesNothingMore() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, onlyHttpsTo(0));
      attachment.detach();

      attachment.detach();

      assertFalse(attachment.isActive());
      assertDenied(container, https(0));
    }

    @Test
    void detach_ofOneContainer_leavesTheOtherAlone() throws Exception {
      ContainerEndpoint leaving = h().newContainer();
      ContainerEndpoint staying = h().newContainer();
      Attachment attachment = h().enforcer().attach(leaving, onlyHttpsTo(0));
      h().enforcer().attach(staying, onlyHttpsTo(0));

      attachment.detach();

      assertAllowed(staying, https(0));
      assertEquals(Set.of(staying.id()), attachedIds());
    }

    @Test
    void detach_freesTheAddressesForANewContainer() throws Exception {
      ContainerEndpoint first = h().newContainer();
      h().enforcer().attach(first, onlyHttpsTo(0)).detach();
      ContainerEndpoint reused =
          new ContainerEndpoint(
              ContainerId.of(first.id() + "-next"), first.addresses(), first.gateway());

      Attachment next = h().enforcer().attach(reused, onlyHttpsTo(1));

      assertEquals(List.of(next), h().enforcer().attachments());

      assertDenied(reused, https(0));
      assertAllowed(reused, https(1));
    }
  }

  @Nested
  class Idempotence {
    @Test
    void attach_ofTheSameIdAndAddresses_isAnUpdate_andReturnsTheSameAttachment() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment first = h().enforcer().attach(container, onlyHttpsTo(0));

      Attachment again = h().enforcer().attach(container, onlyHttpsTo(1));

      assertSame(first, again);
      assertEquals(onlyHttpsTo(1), first.policy());
      assertEquals(1, h().enforcer().attachments().size());
      assertDenied(container, https(0));
      assertAllowed(container, https(1));
    }

    @Test
    void attach_repeatedWithTheSamePolicy_keepsAccessAsItWas() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().enforcer().attach(container, onlyHttpsTo(0));

      h().enforcer().attach(container, onlyHttpsTo(0));

      assertAllowed(container, https(0));
      assertDenied(container, https(1));
    }

    @Test
    void reconcile_twice_removesNothingTheSecondTime() throws Exception {
      ContainerEndpoint live = h().newContainer();
      ContainerEndpoint dead = h().newContainer();
      h().enforcer().attach(live, onlyHttpsTo(0));
      h().enforcer().attach(dead, onlyHttpsTo(0));
      h().enforcer().reconcile(Set.of(live.id()));

      ReconcileResult second = h().enforcer().reconcile(Set.of(live.id()));

      assertEquals(Set.of(), second.removed());
      assertAllowed(live, https(0));
    }
  }

  @Nested
  class Concurrency {
    @Test
    void attachAndDetach_ofEightContainersFromFourThreads_endsConsistent() throws Exception {
      List<ContainerEndpoint> containers = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        containers.add(h().newContainer());
      }
      EgressPolicy policy = onlyHttpsTo(0);
      CountDownLatch start = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> work = new ArrayList<>();
        for (int thread = 0; thread < 4; thread++) {
          List<ContainerEndpoint> mine = containers.subList(2 * thread, 2 * thread + 2);
          work.add(
              pool.submit(
                  () -> {
                    start.await();
                    for (ContainerEndpoint container : mine) {
                      Attachment attachment = h().enforcer().attach(container, policy);
                      h().enforcer().attach(container, policy);
                      if (containers.indexOf(container) % 2 == 1) {
                        attachment.detach();
                      }
                    }
                    return null;
                  }));
        }
        start.countDown();
        for (Future<?> future : work) {
          future.get(60, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      Set<ContainerId> expected = new java.util.HashSet<>();
      for (int i = 0; i < 8; i += 2) {
        expected.add(containers.get(i).id());
      }
      assertEquals(expected, attachedIds());
      for (int i = 0; i < 8; i++) {
        assertEquals(
            i % 2 == 0,
            h().allows(containers.get(i), https(0)),
            containers.get(i).id() + " (attached: " + (i % 2 == 0) + ")");
      }
    }
  }

  @Nested
  class FailureContracts {
    @Test
    void attach_whilePrivilegedOperationsFail_throws_andTheContainerReachesNothing()
        throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().failPrivilegedOperations(true);

      assertThrows(EgressException.class, () -> h().enforcer().attach(container, standardPolicy()));

      assertTrue(attachedIds().isEmpty());
      assertDenied(container, https(0));
      assertDenied(container, Flow.udp(net(3), 53));
    }

    @Test
    void attach_retriedAfterHealing_succeeds() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().failPrivilegedOperations(true);
      assertThrows(EgressException.class, () -> h().enforcer().attach(container, onlyHttpsTo(0)));
      h().failPrivilegedOperations(false);

      Attachment attachment = h().enforcer().attach(container, onlyHttpsTo(0));

      assertTrue(attachment.isActive());
      assertAllowed(container, https(0));
    }

    @Test
    void update_whilePrivilegedOperationsFail_throws_andTheOldPolicyHolds() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, onlyHttpsTo(0));
      h().failPrivilegedOperations(true);

      assertThrows(EgressException.class, () -> attachment.update(onlyHttpsTo(1)));

      assertTrue(attachment.isActive());
      assertEquals(onlyHttpsTo(0), attachment.policy());
      assertAllowed(container, https(0));
      assertDenied(container, https(1));
    }

    @Test
    void detach_whilePrivilegedOperationsFail_throws_andTheContainerReachesNoMoreThanBefore()
        throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, standardPolicy());
      h().failPrivilegedOperations(true);

      assertThrows(EgressException.class, attachment::detach);

      assertDenied(container, https(2));
      assertDenied(container, Flow.tcp(net(1), 53));
      assertDenied(container, Flow.udp(net(0), 53));
    }

    @Test
    void detach_thatFailed_keepsTheAddressesFromOtherContainers() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, onlyHttpsTo(0));
      h().failPrivilegedOperations(true);
      assertThrows(EgressException.class, attachment::detach);
      ContainerEndpoint successor =
          new ContainerEndpoint(
              ContainerId.of(container.id() + "-next"), container.addresses(), container.gateway());

      Exception refused =
          assertThrows(Exception.class, () -> h().enforcer().attach(successor, onlyHttpsTo(1)));

      assertTrue(
          refused instanceof IllegalStateException || refused instanceof EgressException,
          "expected IllegalStateException or EgressException, got " + refused);
      assertDenied(successor, https(1));
    }

    @Test
    void detach_retriedAfterHealing_removesEverything() throws Exception {
      ContainerEndpoint container = h().newContainer();
      Attachment attachment = h().enforcer().attach(container, onlyHttpsTo(0));
      h().failPrivilegedOperations(true);
      assertThrows(EgressException.class, attachment::detach);
      h().failPrivilegedOperations(false);

      attachment.detach();

      assertFalse(attachment.isActive());
      assertDenied(container, https(0));
    }

    @Test
    void reconcile_whilePrivilegedOperationsFail_throws_andWidensNothing() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().enforcer().attach(container, onlyHttpsTo(0));
      h().failPrivilegedOperations(true);

      assertThrows(EgressException.class, () -> h().enforcer().reconcile(Set.of()));

      assertDenied(container, https(1));
      assertDenied(container, Flow.udp(net(3), 53));
    }

    @Test
    void reconcile_afterHealing_removesIdsThatAreNotLive_andKeepsLiveOnes() throws Exception {
      ContainerEndpoint live = h().newContainer();
      ContainerEndpoint dead = h().newContainer();
      h().enforcer().attach(live, onlyHttpsTo(0));
      Attachment deadAttachment = h().enforcer().attach(dead, onlyHttpsTo(0));
      h().failPrivilegedOperations(true);
      assertThrows(EgressException.class, deadAttachment::detach);
      h().failPrivilegedOperations(false);

      ReconcileResult result = h().enforcer().reconcile(Set.of(live.id()));

      // An enforcer that retries failed removals in the background may have removed the dead
      // container's rules before reconcile ran; either way they must be gone now.
      assertFalse(
          result.removed().contains(Subject.container(live.id())), "removed: " + result.removed());
      assertEquals(Set.of(live.id()), attachedIds());
      assertAllowed(live, https(0));
      assertDenied(dead, https(0));
    }
  }

  @Nested
  class PolicySemantics {
    @Test
    void dns_goesOnlyToTheDnsRulesResolvers_overUdpAndTcp() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().enforcer().attach(container, standardPolicy());

      assertAllowed(container, Flow.udp(net(3), 53));
      assertAllowed(container, Flow.tcp(net(3), 53));
      assertDenied(container, Flow.udp(net(1), 53));
      assertDenied(container, Flow.tcp(net(1), 53));
    }

    @Test
    void dnsNone_deniesPort53_evenInsideAnAllowedRange() throws Exception {
      ContainerEndpoint container = h().newContainer();
      EgressPolicy policy =
          EgressPolicy.builder()
              .allow(network(net(1)), Protocol.TCP, new PortRange(1, 1000))
              .allow(network(net(3)), Protocol.UDP, new PortRange(1, 5000))
              .dns(DnsRule.none())
              .build();
      h().enforcer().attach(container, policy);

      assertAllowed(container, https(1));
      assertAllowed(container, Flow.udp(net(3), 3478));
      assertDenied(container, Flow.tcp(net(1), 53));
      assertDenied(container, Flow.udp(net(3), 53));
    }

    @Test
    void dnsViaGateway_deniesOtherResolvers() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().enforcer()
          .attach(
              container,
              EgressPolicy.builder().allowTcp(network(net(0)), 443).dns(DnsRule.gateway()).build());

      assertDenied(container, Flow.udp(net(3), 53));
      assertDenied(container, Flow.tcp(net(3), 53));
    }

    @Test
    void aNameThatResolvesToNothing_allowsNothing_andTheRestStillApplies() throws Exception {
      ContainerEndpoint container = h().newContainer();
      EgressPolicy policy =
          EgressPolicy.builder()
              .allowTcp(Destination.host("nowhere.egress.test"), 443)
              .allowTcp(network(net(1)), 5432)
              .dns(DnsRule.none())
              .build();
      h().resolver().fail("nowhere.egress.test");

      h().enforcer().attach(container, policy);

      assertAllowed(container, Flow.tcp(net(1), 5432));
      assertDenied(container, https(0));
      assertDenied(container, https(1));
    }

    @Test
    void aNetworkRule_allowsItsPortsOnly() throws Exception {
      ContainerEndpoint container = h().newContainer();
      EgressPolicy policy =
          EgressPolicy.builder()
              .allowTcp(new Destination.Network(new IpNetwork(net(1), 32)), 8443)
              .dns(DnsRule.none())
              .build();
      h().enforcer().attach(container, policy);

      assertAllowed(container, Flow.tcp(net(1), 8443));
      assertDenied(container, https(1));
    }
  }

  @Nested
  class Refresh {
    @Test
    void aNameThatResolvesAfterAttach_becomesReachable() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().enforcer()
          .attach(
              container,
              EgressPolicy.builder()
                  .allowTcp(Destination.host("late.egress.test"), 443)
                  .dns(DnsRule.none())
                  .build());
      assertDenied(container, https(1));

      h().resolver().set("late.egress.test", net(1));

      eventually(container, https(1), true);
      assertDenied(container, https(0));
    }

    @Test
    void aNameThatMoves_isFollowed_andTheOldAddressStopsBeingReachable() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().resolver().set("moving.egress.test", net(0));
      h().enforcer()
          .attach(
              container,
              EgressPolicy.builder()
                  .allowTcp(Destination.host("moving.egress.test"), 443)
                  .dns(DnsRule.none())
                  .build());
      assertAllowed(container, https(0));

      h().resolver().set("moving.egress.test", net(2));

      eventually(container, https(2), true);
      eventually(container, https(0), false);
    }

    @Test
    void aNameThatStopsResolving_allowsNothingAnyMore() throws Exception {
      ContainerEndpoint container = h().newContainer();
      h().resolver().set("fading.egress.test", net(0));
      h().enforcer()
          .attach(
              container,
              EgressPolicy.builder()
                  .allowTcp(Destination.host("fading.egress.test"), 443)
                  .dns(DnsRule.none())
                  .build());
      assertAllowed(container, https(0));

      h().resolver().fail("fading.egress.test");

      eventually(container, https(0), false);
    }

    @Test
    void aNameOfAnotherContainersPolicy_doesNotWidenThisOne() throws Exception {
      ContainerEndpoint withName = h().newContainer();
      ContainerEndpoint without = h().newContainer();
      h().enforcer()
          .attach(
              withName,
              EgressPolicy.builder()
                  .allowTcp(Destination.host("shared.egress.test"), 443)
                  .dns(DnsRule.none())
                  .build());
      h().enforcer().attach(without, onlyHttpsTo(0));

      h().resolver().set("shared.egress.test", net(1));

      eventually(withName, https(1), true);
      assertDenied(without, https(1));
    }
  }

  @Nested
  class Reconcile {
    @Test
    void reconcile_removesIdsThatAreNotLive_andKeepsLiveOnes() throws Exception {
      ContainerEndpoint live = h().newContainer();
      ContainerEndpoint dead = h().newContainer();
      h().enforcer().attach(live, onlyHttpsTo(0));
      Attachment deadAttachment = h().enforcer().attach(dead, onlyHttpsTo(1));

      ReconcileResult result = h().enforcer().reconcile(Set.of(live.id()));

      assertEquals(Set.of(Subject.container(dead.id())), result.removed());
      assertFalse(deadAttachment.isActive());
      assertEquals(Set.of(live.id()), attachedIds());
      assertAllowed(live, https(0));
      assertDenied(dead, https(1));
    }

    @Test
    void reconcile_withEveryContainerLive_changesNothing() throws Exception {
      ContainerEndpoint first = h().newContainer();
      ContainerEndpoint second = h().newContainer();
      h().enforcer().attach(first, onlyHttpsTo(0));
      h().enforcer().attach(second, onlyHttpsTo(1));

      ReconcileResult result =
          h().enforcer()
              .reconcile(Set.of(first.id(), second.id(), ContainerId.of("not-attached-anywhere")));

      assertEquals(Set.of(), result.removed());
      assertEquals(Set.of(first.id(), second.id()), attachedIds());
      assertAllowed(first, https(0));
      assertAllowed(second, https(1));
    }

    @Test
    void reconcile_withNothingLive_removesEverything() throws Exception {
      ContainerEndpoint first = h().newContainer();
      h().enforcer().attach(first, standardPolicy());

      ReconcileResult result = h().enforcer().reconcile(Set.of());

      assertEquals(Set.of(Subject.container(first.id())), result.removed());
      assertTrue(attachedIds().isEmpty());
      assertDenied(first, https(0));
      assertDenied(first, gatewayProxy(first));
    }
  }
}
