package dev.egress.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import dev.egress.testkit.SteppedClock;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The meters over the in-memory enforcer, read through a SimpleMeterRegistry. */
class EgressMetersTest {
  private static final InetAddress WEB = IpAddresses.parse("203.0.113.9");
  private static final ContainerEndpoint C1 =
      new ContainerEndpoint(ContainerId.of("c1"), List.of(IpAddresses.parse("10.88.0.2")), null);
  private static final ContainerEndpoint C2 =
      new ContainerEndpoint(ContainerId.of("c2"), List.of(IpAddresses.parse("10.88.0.3")), null);
  private static final EgressPolicy HTTPS_TO_WEB =
      EgressPolicy.builder()
          .allowTcp(Destination.parse("203.0.113.9"), 443)
          .dns(DnsRule.none())
          .build();

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final SteppedClock clock = new SteppedClock(Instant.parse("2026-11-30T10:00:00Z"));
  private final EgressMeters meters = new EgressMeters(registry, Duration.ofSeconds(5), clock);
  private final InMemoryEgressEnforcer inMemory =
      InMemoryEgressEnforcer.builder()
          .resolver(new FakeNameResolver())
          .listener(meters.listener())
          .build();
  private final EgressEnforcer enforcer = meters.bind(inMemory);

  private @Nullable Double gauge(String name, ContainerEndpoint container, String verdict) {
    Gauge gauge =
        registry
            .find(name)
            .tag("container", container.id().value())
            .tag("verdict", verdict)
            .gauge();
    return gauge == null ? null : gauge.value();
  }

  private double attachments() {
    return registry.get("egress.attachments").gauge().value();
  }

  @Test
  void trafficGauges_perContainer_showTheCountersOfOneReadPerMaxAge() throws Exception {
    enforcer.attach(C1, HTTPS_TO_WEB);
    enforcer.attach(C2, HTTPS_TO_WEB);
    assertEquals(2.0, attachments(), "the first read registers the containers' gauges");

    inMemory.send(C1.addresses().get(0), Flow.tcp(WEB, 443), 60);
    inMemory.send(C1.addresses().get(0), Flow.tcp(WEB, 443), 40);
    inMemory.send(C1.addresses().get(0), Flow.tcp(WEB, 22), 52);
    inMemory.send(C2.addresses().get(0), Flow.tcp(WEB, 80), 70);
    assertEquals(0.0, gauge("egress.traffic.packets", C1, "allowed"), "within maxAge: last read");

    clock.advance(Duration.ofSeconds(6));
    assertEquals(2.0, gauge("egress.traffic.packets", C1, "allowed"));
    assertEquals(100.0, gauge("egress.traffic.bytes", C1, "allowed"));
    assertEquals(1.0, gauge("egress.traffic.packets", C1, "refused"));
    assertEquals(52.0, gauge("egress.traffic.bytes", C1, "refused"));
    assertEquals(0.0, gauge("egress.traffic.packets", C2, "allowed"));
    assertEquals(70.0, gauge("egress.traffic.bytes", C2, "refused"));
  }

  @Test
  void aDetachedContainersGauges_goAtTheNextRead() throws Exception {
    Attachment attachment = enforcer.attach(C1, HTTPS_TO_WEB);
    assertEquals(1.0, attachments());
    assertEquals(0.0, gauge("egress.traffic.packets", C1, "refused"));

    attachment.detach();
    clock.advance(Duration.ofSeconds(6));

    assertEquals(0.0, attachments());
    assertNull(gauge("egress.traffic.packets", C1, "refused"));
  }

  @Test
  void aFailedRead_leavesTheGaugesNaN_untilOneSucceeds() throws Exception {
    enforcer.attach(C1, HTTPS_TO_WEB);
    assertEquals(1.0, attachments());
    inMemory.failAllOperations(true);
    clock.advance(Duration.ofSeconds(6));

    assertEquals(0.0, attachments());
    assertNull(gauge("egress.traffic.packets", C1, "allowed"), "none listed: none shown");

    inMemory.failAllOperations(false);
    clock.advance(Duration.ofSeconds(6));
    assertEquals(1.0, attachments());
    assertEquals(0.0, gauge("egress.traffic.packets", C1, "allowed"));
  }

  @Test
  void attachAndReconcile_areTimed_byResult() throws Exception {
    enforcer.attach(C1, HTTPS_TO_WEB);
    enforcer.attach(C1, HTTPS_TO_WEB); // idempotent: an update, timed too
    inMemory.failNextOperations(1);
    assertThrows(EgressException.class, () -> enforcer.attach(C2, HTTPS_TO_WEB));
    enforcer.reconcile(Set.of(C1.id()));

    Timer ok = registry.get("egress.attach").tag("result", "ok").timer();
    Timer failed = registry.get("egress.attach").tag("result", "failed").timer();
    assertEquals(2, ok.count());
    assertEquals(1, failed.count());
    assertTrue(ok.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS) > 0);
    assertEquals(1, registry.get("egress.reconcile").tag("result", "ok").timer().count());
  }

  @Test
  void events_areCountedByKind() throws Exception {
    Attachment attachment = enforcer.attach(C1, HTTPS_TO_WEB);
    attachment.update(EgressPolicy.denyAll());
    attachment.detach();

    assertEquals(1.0, registry.get("egress.events").tag("type", "attached").counter().count());
    assertEquals(1.0, registry.get("egress.events").tag("type", "updated").counter().count());
    assertEquals(1.0, registry.get("egress.events").tag("type", "detached").counter().count());
  }

  @Test
  void bind_onlyOnce_andMaxAgeNotNegative() {
    assertThrows(IllegalStateException.class, () -> meters.bind(inMemory));
    assertThrows(
        IllegalArgumentException.class,
        () -> new EgressMeters(registry, Duration.ofSeconds(-1), clock));
  }
}
