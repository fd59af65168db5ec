package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.Subject;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Attribution by source address at the packet's moment, also after an address moved. */
class AddressHistoryTest {
  private static final Instant T0 = Instant.parse("2026-11-30T14:00:00Z");
  private static final InetAddress ADDRESS = IpAddresses.parse("10.213.0.5");
  private static final ContainerId A = ContainerId.of("a");
  private static final ContainerId B = ContainerId.of("b");

  private final AddressHistory history =
      new AddressHistory(Duration.ofSeconds(1), Duration.ofMinutes(1));

  private static ContainerEndpoint endpoint(ContainerId id) {
    return new ContainerEndpoint(id, List.of(ADDRESS), null);
  }

  private static RefusedPacket packetAt(Instant time) {
    return new RefusedPacket(
        time, ADDRESS, IpAddresses.parse("203.0.113.9"), PacketProtocol.TCP, 443);
  }

  @Test
  void addressMovedFromAToB_eachPacketGoesToItsHolderThen_nearTheMoveToNone() {
    history.attached(T0, endpoint(A), "agent");
    history.detached(T0.plusSeconds(10), A);
    history.attached(T0.plusSeconds(20), endpoint(B), "web");

    assertEquals(Optional.of(A), history.holderAt(ADDRESS, T0.plusSeconds(5)));
    assertEquals(Optional.of(A), history.holderAt(ADDRESS, T0.minusMillis(500)), "within slack");
    assertEquals(Optional.empty(), history.holderAt(ADDRESS, T0.plusSeconds(15)));
    assertEquals(Optional.of(B), history.holderAt(ADDRESS, T0.plusSeconds(25)));

    AuditRecord.Refused ofA =
        history.attribute(packetAt(T0.plusSeconds(5)), Reason.NOT_IN_POLICY, null);
    AuditRecord.Refused ofB =
        history.attribute(packetAt(T0.plusSeconds(25)), Reason.DNS_FOREIGN_RESOLVER, null);
    assertEquals(A, ofA.container());
    assertEquals("agent", ofA.policy());
    assertEquals(B, ofB.container());
    assertEquals("web", ofB.policy());
  }

  @Test
  void addressMovedWithinTheSlack_packetsAtTheMoveNameNoContainer() {
    history.attached(T0, endpoint(A), null);
    history.detached(T0.plusSeconds(10), A);
    history.attached(T0.plusMillis(10_500), endpoint(B), null);

    assertEquals(Optional.empty(), history.holderAt(ADDRESS, T0.plusMillis(10_200)));
    assertNull(
        history.attribute(packetAt(T0.plusMillis(10_200)), Reason.NOT_IN_POLICY, null).container());
  }

  @Test
  void addressTakenOverWithoutADetach_theFirstHoldersSpanEndsThere() {
    history.attached(T0, endpoint(A), null);
    history.attached(T0.plusSeconds(30), endpoint(B), null);

    assertEquals(Optional.of(A), history.holderAt(ADDRESS, T0.plusSeconds(10)));
    assertEquals(Optional.of(B), history.holderAt(ADDRESS, T0.plusSeconds(40)));
  }

  @Test
  void guardRefusals_nameNoContainer_evenForAnAttachedAddress() {
    history.attached(T0, endpoint(A), "agent");

    for (Reason reason : List.of(Reason.GUARD_UNATTACHED, Reason.SPOOFED_SOURCE)) {
      AuditRecord.Refused record = history.attribute(packetAt(T0.plusSeconds(1)), reason, null);
      assertNull(record.container(), reason.toString());
      assertNull(record.policy(), reason.toString());
    }
  }

  @Test
  void detachedSpans_areForgottenAfterTheRetention() {
    history.attached(T0, endpoint(A), null);
    history.detached(T0.plusSeconds(1), A);
    history.attached(
        T0.plusSeconds(120),
        new ContainerEndpoint(B, List.of(IpAddresses.parse("10.213.0.6")), null),
        null);

    assertEquals(Optional.empty(), history.holderAt(ADDRESS, T0.plusMillis(500)));
  }

  @Test
  void listener_followsTheEnforcersEvents() {
    EgressListener listener = history.listener();
    listener.onEvent(new EgressEvent.Attached(T0, endpoint(A), EgressPolicy.denyAll()));
    listener.onEvent(new EgressEvent.Detached(T0.plusSeconds(10), new Subject.Container(A)));
    listener.onEvent(
        new EgressEvent.Attached(T0.plusSeconds(20), endpoint(B), EgressPolicy.denyAll()));

    assertEquals(Optional.of(A), history.holderAt(ADDRESS, T0.plusSeconds(5)));
    assertEquals(Optional.of(B), history.holderAt(ADDRESS, T0.plusSeconds(25)));
  }

  @Test
  void constructor_refusesNegativeSlack_andRetentionBelowIt() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new AddressHistory(Duration.ofSeconds(-1), Duration.ofMinutes(1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> new AddressHistory(Duration.ofSeconds(5), Duration.ofSeconds(1)));
  }
}
