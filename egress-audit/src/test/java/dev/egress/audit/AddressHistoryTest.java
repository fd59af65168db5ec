package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.Subject;
import dev.egress.policy.Destination;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
    history.attached(T0, endpoint(A), EgressPolicy.denyAll(), "agent");
    history.detached(T0.plusSeconds(10), A);
    history.attached(T0.plusSeconds(20), endpoint(B), EgressPolicy.denyAll(), "web");

    assertEquals(Optional.of(A), history.holderAt(ADDRESS, T0.plusSeconds(5)));
    assertEquals(Optional.of(A), history.holderAt(ADDRESS, T0.minusMillis(500)), "within slack");
    assertEquals(Optional.empty(), history.holderAt(ADDRESS, T0.plusSeconds(15)));
    assertEquals(Optional.of(B), history.holderAt(ADDRESS, T0.plusSeconds(25)));

    AuditRecord.Refused ofA = history.attribute(packetAt(T0.plusSeconds(5)), Reason.NOT_IN_POLICY);
    AuditRecord.Refused ofB =
        history.attribute(packetAt(T0.plusSeconds(25)), Reason.DNS_FOREIGN_RESOLVER);
    assertEquals(A, ofA.container());
    assertEquals("agent", ofA.policy());
    assertEquals(B, ofB.container());
    assertEquals("web", ofB.policy());
  }

  @Test
  void addressMovedWithinTheSlack_packetsAtTheMoveNameNoContainer() {
    history.attached(T0, endpoint(A), EgressPolicy.denyAll(), null);
    history.detached(T0.plusSeconds(10), A);
    history.attached(T0.plusMillis(10_500), endpoint(B), EgressPolicy.denyAll(), null);

    assertEquals(Optional.empty(), history.holderAt(ADDRESS, T0.plusMillis(10_200)));
    assertNull(
        history.attribute(packetAt(T0.plusMillis(10_200)), Reason.NOT_IN_POLICY).container());
  }

  @Test
  void addressTakenOverWithoutADetach_theFirstHoldersSpanEndsThere() {
    history.attached(T0, endpoint(A), EgressPolicy.denyAll(), null);
    history.attached(T0.plusSeconds(30), endpoint(B), EgressPolicy.denyAll(), null);

    assertEquals(Optional.of(A), history.holderAt(ADDRESS, T0.plusSeconds(10)));
    assertEquals(Optional.of(B), history.holderAt(ADDRESS, T0.plusSeconds(40)));
  }

  @Test
  void guardRefusals_nameNoContainer_evenForAnAttachedAddress() {
    history.attached(T0, endpoint(A), EgressPolicy.denyAll(), "agent");

    for (Reason reason : List.of(Reason.GUARD_UNATTACHED, Reason.SPOOFED_SOURCE)) {
      AuditRecord.Refused record = history.attribute(packetAt(T0.plusSeconds(1)), reason);
      assertNull(record.container(), reason.toString());
      assertNull(record.policy(), reason.toString());
    }
  }

  @Test
  void detachedSpans_areForgottenAfterTheRetention() {
    history.attached(T0, endpoint(A), EgressPolicy.denyAll(), null);
    history.detached(T0.plusSeconds(1), A);
    history.attached(
        T0.plusSeconds(120),
        new ContainerEndpoint(B, List.of(IpAddresses.parse("10.213.0.6")), null),
        EgressPolicy.denyAll(),
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

  private static final InetAddress DESTINATION = IpAddresses.parse("203.0.113.9");
  private static final HostName API = HostName.of("api.example.com");
  private static final HostName CDN = HostName.of("cdn.example.com");

  private static EgressPolicy allowing(HostName name) {
    return EgressPolicy.builder().allowTcp(Destination.host(name.toString()), 443).build();
  }

  @Test
  void recordsNameTheHostTheResolverGaveForTheDestination_forContainersWhosePolicyNamesIt()
      throws Exception {
    ManualClock clock = new ManualClock(T0);
    NameResolver recording =
        history.recording(
            NameResolver.fixed(new Resolutions(Map.of(API, Set.of(DESTINATION)))), clock);
    history.attached(T0, endpoint(A), allowing(API), "agent");
    history.attached(
        T0,
        new ContainerEndpoint(B, List.of(IpAddresses.parse("10.213.0.6")), null),
        allowing(CDN),
        null);
    recording.resolve(Set.of(API));

    assertEquals(API, history.attribute(packetAt(T0.plusSeconds(5)), Reason.NOT_IN_POLICY).host());
    assertEquals(
        Optional.empty(),
        history.nameGiven(B, DESTINATION, T0.plusSeconds(5)),
        "B's policy does not name api.example.com");
    assertEquals(
        Optional.empty(),
        history.nameGiven(A, IpAddresses.parse("203.0.113.10"), T0.plusSeconds(5)),
        "no name was given for another address");
    assertNull(history.attribute(packetAt(T0.plusSeconds(5)), Reason.GUARD_UNATTACHED).host());
  }

  @Test
  void subscriptionChanges_areRecordedToo_beforeTheListenerHearsThem() {
    ManualClock clock = new ManualClock(T0);
    List<NameResolver.Listener> subscribers = new ArrayList<>();
    NameResolver changing =
        new NameResolver() {
          @Override
          public Resolutions resolve(Set<HostName> names) {
            return Resolutions.none();
          }

          @Override
          public Subscription subscribe(Set<HostName> names, Listener listener) {
            subscribers.add(listener);
            return () -> {};
          }
        };
    history.attached(T0, endpoint(A), allowing(API), null);
    List<Optional<HostName>> heardThen = new ArrayList<>();
    history
        .recording(changing, clock)
        .subscribe(
            Set.of(API),
            (current, changed) ->
                heardThen.add(history.nameGiven(A, DESTINATION, clock.instant())));
    clock.advance(Duration.ofSeconds(3));
    subscribers.get(0).onChange(new Resolutions(Map.of(API, Set.of(DESTINATION))), Set.of(API));

    assertEquals(List.of(Optional.of(API)), heardThen);
  }

  @Test
  void theLatestNameGivenNoLaterThanThePacketWins_grantsAndResolutionsAlike() throws Exception {
    ManualClock clock = new ManualClock(T0);
    history.attached(T0, endpoint(A), allowing(API), null);
    history
        .recording(NameResolver.fixed(new Resolutions(Map.of(API, Set.of(DESTINATION)))), clock)
        .resolve(Set.of(API));
    history.granted(T0.plusSeconds(10), A, CDN, Set.of(DESTINATION));

    assertEquals(
        Optional.of(API),
        history.nameGiven(A, DESTINATION, T0.plusSeconds(5)),
        "the grant came after the packet");
    assertEquals(Optional.of(CDN), history.nameGiven(A, DESTINATION, T0.plusSeconds(10)));
    assertEquals(
        Optional.of(CDN),
        history.nameGiven(A, DESTINATION, T0.plusMillis(9_500)),
        "within the slack");
    assertEquals(
        Optional.empty(),
        history.nameGiven(A, DESTINATION, T0.minusSeconds(5)),
        "nothing was given before");
  }

  @Test
  void grants_toContainersNotAttached_orDetachedPastTheRetention_areForgotten() {
    history.granted(T0, A, CDN, Set.of(DESTINATION));
    assertEquals(Optional.empty(), history.nameGiven(A, DESTINATION, T0.plusSeconds(1)));

    history.attached(T0, endpoint(A), EgressPolicy.denyAll(), null);
    history.granted(T0, A, CDN, Set.of(DESTINATION));
    history.detached(T0.plusSeconds(1), A);
    assertEquals(
        Optional.of(CDN),
        history.nameGiven(A, DESTINATION, T0.plusSeconds(1)),
        "a lagging log line of a detached container still finds its name");
    history.attached(
        T0.plusSeconds(120),
        new ContainerEndpoint(B, List.of(IpAddresses.parse("10.213.0.6")), null),
        EgressPolicy.denyAll(),
        null);
    assertEquals(Optional.empty(), history.nameGiven(A, DESTINATION, T0.plusSeconds(1)));
  }

  @Test
  void aNameKeepsAtMostItsNewestAddresses() throws Exception {
    ManualClock clock = new ManualClock(T0);
    history.attached(T0, endpoint(A), allowing(CDN), null);
    NameResolver recording =
        history.recording(
            new NameResolver() {
              private int next;

              @Override
              public Resolutions resolve(Set<HostName> names) {
                next++;
                return new Resolutions(
                    Map.of(
                        CDN,
                        Set.of(IpAddresses.parse("198.51." + (next / 256) + "." + (next % 256)))));
              }

              @Override
              public Subscription subscribe(Set<HostName> names, Listener listener) {
                return () -> {};
              }
            },
            clock);
    for (int i = 0; i < 300; i++) {
      clock.advance(Duration.ofMillis(1));
      recording.resolve(Set.of(CDN));
    }

    Instant after = clock.instant();
    assertEquals(
        Optional.empty(),
        history.nameGiven(A, IpAddresses.parse("198.51.0.1"), after),
        "the oldest fell out");
    assertEquals(Optional.of(CDN), history.nameGiven(A, IpAddresses.parse("198.51.1.44"), after));
  }
}
