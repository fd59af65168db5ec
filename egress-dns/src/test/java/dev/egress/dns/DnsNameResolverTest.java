package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.NameResolver;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.lab.dns.TestDnsServer.Behaviour;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.dns.ScriptedResolver;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

class DnsNameResolverTest {
  private static final Duration TTL = Duration.ofSeconds(60);
  private static final Duration GRACE = Duration.ofSeconds(120);
  private static final Duration RETRY = Duration.ofSeconds(5);

  private final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private TestDnsServer server;
  private DnsNameResolver resolver;

  @BeforeEach
  void start() throws IOException {
    server = TestDnsServer.start();
    resolver = builder().build();
  }

  @AfterEach
  void stop() {
    resolver.close();
    server.close();
    executor.shutdownNow();
  }

  private DnsNameResolver.Builder builder() {
    return DnsNameResolver.builder()
        .servers(List.of(server.address()))
        .queryTimeout(Duration.ofMillis(500))
        .ttlFloor(Duration.ofSeconds(10))
        .ttlCeiling(Duration.ofHours(1))
        .grace(GRACE)
        .retryInterval(RETRY)
        .clock(clock)
        .scheduler(scheduler)
        .executor(executor);
  }

  @Test
  void resolve_returnsAAndAaaaAddressesOfEveryName() throws Exception {
    server.setAddresses("api.example.com", TTL, "192.0.2.1", "2001:db8::1");
    server.setAddresses("cdn.example.com", TTL, "192.0.2.7");

    Resolutions resolutions =
        resolver.resolve(Set.of(host("api.example.com"), host("cdn.example.com")));

    assertEquals(
        addresses("192.0.2.1", "2001:db8::1"), resolutions.addressesOf(host("api.example.com")));
    assertEquals(addresses("192.0.2.7"), resolutions.addressesOf(host("cdn.example.com")));
  }

  @Test
  void resolve_followsCnameChains() throws Exception {
    server.setCname("www.example.com", "edge.example.net", TTL);
    server.setCname("edge.example.net", "node7.example.net", TTL);
    server.setAddresses("node7.example.net", TTL, "198.51.100.7");

    Resolutions resolutions = resolver.resolve(Set.of(host("www.example.com")));

    assertEquals(addresses("198.51.100.7"), resolutions.addressesOf(host("www.example.com")));
  }

  @Test
  void resolve_asksNamesAsAbsoluteWithoutSearchPath() throws Exception {
    server.setAddresses("intranet", TTL, "192.0.2.99");

    Resolutions resolutions = resolver.resolve(Set.of(host("intranet")));

    assertEquals(addresses("192.0.2.99"), resolutions.addressesOf(host("intranet")));
    assertEquals(1, server.queries("intranet.", Type.A));
    assertEquals(2, server.totalQueries(), "one A and one AAAA query, no search-path variants");
  }

  @Test
  void hostsFile_whenConfigured_answersBeforeUpstream(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path hosts = dir.resolve("hosts");
    java.nio.file.Files.writeString(hosts, "192.0.2.77 pinned.example.com\n");
    server.setAddresses("pinned.example.com", TTL, "192.0.2.1");
    resolver.close();
    resolver = builder().hostsFile(hosts).build();

    Resolutions resolutions = resolver.resolve(Set.of(host("pinned.example.com")));

    assertTrue(
        resolutions
            .addressesOf(host("pinned.example.com"))
            .contains(IpAddresses.parse("192.0.2.77")));
    assertEquals(0, server.queries("pinned.example.com", Type.A));
  }

  @Test
  void withoutHostsFile_namesGoUpstream() throws Exception {
    server.setAddresses("localhost", TTL, "192.0.2.5");

    Resolutions resolutions = resolver.resolve(Set.of(host("localhost")));

    assertEquals(addresses("192.0.2.5"), resolutions.addressesOf(host("localhost")));
  }

  @Test
  void unspecifiedAndIpv4MappedAddresses_areNeverPublished() throws Exception {
    InetAddress mapped =
        java.net.Inet6Address.getByAddress(
            null,
            new byte[] {
              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 66
            },
            (java.net.NetworkInterface) null);

    assertEquals(
        addresses("192.0.2.8"),
        publishedFrom(
            List.of(
                IpAddresses.parse("0.0.0.0"),
                IpAddresses.parse("::"),
                mapped,
                IpAddresses.parse("192.0.2.8"))));
  }

  @Test
  void rebindingAnswers_toLoopbackLinkLocalOrMulticast_areNeverPublished() throws Exception {
    assertEquals(
        addresses("10.1.2.3", "fd00::5"),
        publishedFrom(
            parsed(
                "127.0.0.1",
                "169.254.169.254",
                "224.0.0.251",
                "::1",
                "fe80::1",
                "ff02::1",
                "10.1.2.3",
                "fd00::5")));
  }

  @Test
  void answersInTheTableOfUnusableAddresses_areNeverPublished() throws Exception {
    assertEquals(
        addresses("198.51.100.7", "64:ff9b::c633:6407"),
        publishedFrom(
            parsed(
                "255.255.255.255",
                "0.1.2.3",
                "100.100.100.200",
                "fd00:ec2::254",
                "fec0::1",
                "64:ff9b::a9fe:a9fe",
                "2002:7f00:1::",
                "::a9fe:a9fe",
                "198.51.100.7",
                "64:ff9b::c633:6407")));
  }

  /** What a name resolves to when the upstream answers {@code answer} (A and AAAA alike). */
  private Set<InetAddress> publishedFrom(List<InetAddress> answer) throws Exception {
    resolver.close();
    resolver =
        builder()
            .upstream(new ScriptedResolver(name -> ScriptedResolver.Reply.addresses(TTL, answer)))
            .build();
    return resolver
        .resolve(Set.of(host("answer.example.com")))
        .addressesOf(host("answer.example.com"));
  }

  private static List<InetAddress> parsed(String... literals) {
    return java.util.Arrays.stream(literals).map(IpAddresses::parse).toList();
  }

  @Test
  void severalServers_whenOneNeverAnswers_theOtherAnswersWithinTheTimeout() throws Exception {
    try (TestDnsServer silent = TestDnsServer.start()) {
      silent.setBehaviour("api.example.com", Behaviour.DROP);
      server.setAddresses("api.example.com", TTL, "192.0.2.1");
      resolver.close();
      resolver =
          builder()
              .servers(List.of(silent.address(), server.address()))
              .queryTimeout(Duration.ofSeconds(4))
              .build();

      // dnsjava tries the servers in random order (fewest failures first), each for half the
      // timeout; whichever comes first, the answer arrives within the timeout.
      Resolutions resolutions = resolver.resolve(Set.of(host("api.example.com")));

      assertEquals(
          addresses("192.0.2.1"),
          resolutions.addressesOf(host("api.example.com")),
          () -> statusOf("api.example.com").describe());
    }
  }

  @Test
  void severalServers_whenOneRefuses_theNextIsAsked() throws Exception {
    try (TestDnsServer refusing = TestDnsServer.start()) {
      refusing.setBehaviour("api.example.com", Behaviour.REFUSED);
      server.setAddresses("api.example.com", TTL, "192.0.2.1");
      resolver.close();
      resolver =
          builder()
              .servers(List.of(refusing.address(), server.address()))
              .queryTimeout(Duration.ofSeconds(4))
              .build();

      Resolutions resolutions = resolver.resolve(Set.of(host("api.example.com")));

      assertEquals(addresses("192.0.2.1"), resolutions.addressesOf(host("api.example.com")));
      assertEquals(1, refusing.queries("api.example.com", Type.A), "the first server refused");
      assertNull(statusOf("api.example.com").lastError());
    }
  }

  @Test
  void everyServerRefusing_isRefused_andNarrowsAtOnce() throws Exception {
    try (TestDnsServer refusing = TestDnsServer.start()) {
      refusing.setBehaviour("api.example.com", Behaviour.REFUSED);
      server.setBehaviour("api.example.com", Behaviour.REFUSED);
      resolver.close();
      resolver = builder().servers(List.of(refusing.address(), server.address())).build();

      Resolutions resolutions = resolver.resolve(Set.of(host("api.example.com")));

      assertTrue(resolutions.addressesOf(host("api.example.com")).isEmpty());
      assertEquals(FailureKind.REFUSED, lastErrorKind("api.example.com"));
      assertFalse(FailureKind.REFUSED.graceApplies());
    }
  }

  @Test
  void resolve_wildcardName_contributesNothingAndQueriesNothing() throws Exception {
    Resolutions resolutions = resolver.resolve(Set.of(host("*.example.com")));

    assertTrue(resolutions.addressesOf(host("*.example.com")).isEmpty());
    assertEquals(0, server.totalQueries());
  }

  @Test
  void resolve_500AttachmentsSharing20Names_askUpstreamOncePerNameAndTypePerTtlPeriod()
      throws Exception {
    List<HostName> names = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      server.setAddresses(
          "n" + i + ".example.com", TTL, "192.0.2." + (i + 1), "2001:db8::" + (i + 1));
      names.add(host("n" + i + ".example.com"));
    }
    server.setDelay(Duration.ofMillis(20));
    ExecutorService attachments = Executors.newFixedThreadPool(50);
    List<NameResolver.Subscription> subscriptions = new ArrayList<>();
    try {
      List<Future<Resolutions>> results = new ArrayList<>();
      for (int attachment = 0; attachment < 500; attachment++) {
        Set<HostName> policyNames = Set.copyOf(names.subList(attachment % 5, 20));
        results.add(
            attachments.submit(
                () -> {
                  Resolutions resolved = resolver.resolve(policyNames);
                  synchronized (subscriptions) {
                    subscriptions.add(resolver.subscribe(policyNames, (current, changed) -> {}));
                  }
                  return resolved;
                }));
      }
      for (Future<Resolutions> result : results) {
        Resolutions resolved = result.get(10, TimeUnit.SECONDS);
        assertEquals(addresses("192.0.2.20", "2001:db8::20"), resolved.addressesOf(names.get(19)));
      }
      assertQueriesPerName(names, 1);

      // One TTL period later every name is refreshed once, however many attachments use it.
      scheduler.advance(TTL);
      awaitTrue(() -> server.totalQueries() == 80, "20 names x (A + AAAA) x 2 periods");
      for (int attachment = 0; attachment < 500; attachment++) {
        resolver.resolve(Set.copyOf(names));
      }
      assertQueriesPerName(names, 2);
    } finally {
      // Tasks may still be subscribing when an assertion fails: stop them before closing, so that
      // the failure is reported rather than a ConcurrentModificationException from this block.
      attachments.shutdownNow();
      attachments.awaitTermination(10, TimeUnit.SECONDS);
      synchronized (subscriptions) {
        subscriptions.forEach(NameResolver.Subscription::close);
      }
    }
  }

  @Test
  void resolve_simultaneousColdRequests_shareOneInFlightQuery() throws Exception {
    server.setAddresses("api.example.com", TTL, "192.0.2.1");
    server.setDelay(Duration.ofMillis(200));
    ExecutorService callers = Executors.newFixedThreadPool(32);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<Resolutions>> results = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        results.add(
            callers.submit(
                () -> {
                  go.await();
                  return resolver.resolve(Set.of(host("api.example.com")));
                }));
      }
      go.countDown();
      for (Future<Resolutions> result : results) {
        assertEquals(
            addresses("192.0.2.1"),
            result.get(5, TimeUnit.SECONDS).addressesOf(host("api.example.com")));
      }
    } finally {
      callers.shutdownNow();
    }
    assertEquals(1, server.queries("api.example.com", Type.A));
    assertEquals(1, server.queries("api.example.com", Type.AAAA));
  }

  @Test
  void ttlBelowFloor_isKeptForTheFloor() throws Exception {
    server.setAddresses("short.example.com", Duration.ofSeconds(1), "192.0.2.1");
    resolver.resolve(Set.of(host("short.example.com")));

    assertEquals(clock.instant().plusSeconds(10), statusOf("short.example.com").expires());
    clock.advance(Duration.ofSeconds(9));
    resolver.resolve(Set.of(host("short.example.com")));
    assertEquals(
        1, server.queries("short.example.com", Type.A), "not asked again before the floor");
    clock.advance(Duration.ofSeconds(1));
    resolver.resolve(Set.of(host("short.example.com")));
    assertEquals(2, server.queries("short.example.com", Type.A), "asked again at the floor");
  }

  @Test
  void ttlAboveCeiling_isCutToTheCeiling() throws Exception {
    resolver.close();
    resolver = builder().ttlCeiling(Duration.ofMinutes(2)).build();
    server.setAddresses("long.example.com", Duration.ofDays(2), "192.0.2.1");

    resolver.resolve(Set.of(host("long.example.com")));

    assertEquals(
        clock.instant().plus(Duration.ofMinutes(2)), statusOf("long.example.com").expires());
  }

  @Test
  void ttl_isTheSmallestOfTheAnswer() throws Exception {
    server.loadZone(
        "mixed.example.com 90 A 192.0.2.1\n"
            + "mixed.example.com 30 A 192.0.2.2\n"
            + "mixed.example.com 120 AAAA 2001:db8::1\n");
    resolver.resolve(Set.of(host("mixed.example.com")));

    assertEquals(clock.instant().plusSeconds(30), statusOf("mixed.example.com").expires());
  }

  @Test
  void subscribedName_isRefreshedWhenItsTtlEnds() throws Exception {
    server.setAddresses("api.example.com", TTL, "192.0.2.1");
    resolver.resolve(Set.of(host("api.example.com")));
    LinkedBlockingQueue<Resolutions> changes = new LinkedBlockingQueue<>();
    try (NameResolver.Subscription ignored =
        resolver.subscribe(
            Set.of(host("api.example.com")), (current, changed) -> changes.add(current))) {
      server.setAddresses("api.example.com", TTL, "192.0.2.2");

      scheduler.advance(TTL.minusSeconds(1));
      assertEquals(1, server.queries("api.example.com", Type.A), "no refresh before expiry");
      scheduler.advance(Duration.ofSeconds(1));

      Resolutions changed = changes.poll(5, TimeUnit.SECONDS);
      assertNotNull(changed, "listener told of the new address");
      assertEquals(addresses("192.0.2.2"), changed.addressesOf(host("api.example.com")));
      assertEquals(2, server.queries("api.example.com", Type.A));
    }
  }

  @Test
  void listener_isCalledOnlyWhenTheAddressSetReallyChanges() throws Exception {
    server.setAddresses("api.example.com", TTL, "192.0.2.1", "192.0.2.2");
    server.setAddresses("other.example.com", TTL, "192.0.2.9");
    Set<HostName> names = Set.of(host("api.example.com"), host("other.example.com"));
    resolver.resolve(names);
    LinkedBlockingQueue<Set<HostName>> changes = new LinkedBlockingQueue<>();
    List<Resolutions> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (NameResolver.Subscription ignored =
        resolver.subscribe(
            names,
            (current, changed) -> {
              seen.add(current);
              changes.add(changed);
            })) {
      // Same addresses again, in another order: a refresh, but no change.
      server.setAddresses("api.example.com", TTL, "192.0.2.2", "192.0.2.1");
      scheduler.advance(TTL);
      awaitTrue(() -> server.queries("api.example.com", Type.AAAA) == 2, "refreshed");
      awaitTrue(
          () -> statusOf("api.example.com").expires().equals(clock.instant().plus(TTL)), "applied");
      assertNull(changes.poll(200, TimeUnit.MILLISECONDS), "no call for a repeated answer");

      server.setAddresses("api.example.com", TTL, "192.0.2.3");
      scheduler.advance(TTL);
      assertEquals(Set.of(host("api.example.com")), changes.poll(5, TimeUnit.SECONDS));
      assertEquals(addresses("192.0.2.3"), seen.get(0).addressesOf(host("api.example.com")));
      assertEquals(addresses("192.0.2.9"), seen.get(0).addressesOf(host("other.example.com")));
      assertNull(changes.poll(200, TimeUnit.MILLISECONDS), "one call per change");
    }
  }

  @Test
  void failingListener_doesNotStopTheOthers() throws Exception {
    server.setAddresses("api.example.com", TTL, "192.0.2.1");
    resolver.resolve(Set.of(host("api.example.com")));
    LinkedBlockingQueue<Resolutions> changes = new LinkedBlockingQueue<>();
    try (NameResolver.Subscription failing =
            resolver.subscribe(
                Set.of(host("api.example.com")),
                (current, changed) -> {
                  throw new IllegalStateException("listener bug");
                });
        NameResolver.Subscription working =
            resolver.subscribe(
                Set.of(host("api.example.com")), (current, changed) -> changes.add(current))) {
      for (String next : List.of("192.0.2.2", "192.0.2.3")) {
        server.setAddresses("api.example.com", TTL, next);
        scheduler.advance(TTL);
        Resolutions changed = changes.poll(5, TimeUnit.SECONDS);
        assertNotNull(changed);
        assertEquals(addresses(next), changed.addressesOf(host("api.example.com")));
      }
    }
  }

  @Test
  void resolve_whenInterruptedWhileWaiting_throwsInterruptedException() throws Exception {
    resolver.close();
    resolver = builder().queryTimeout(Duration.ofSeconds(30)).build();
    server.setBehaviour("black-hole.example.com", Behaviour.DROP);
    LinkedBlockingQueue<Throwable> outcome = new LinkedBlockingQueue<>();
    Thread caller =
        new Thread(
            () -> {
              try {
                resolver.resolve(Set.of(host("black-hole.example.com")));
                outcome.add(new AssertionError("returned without an answer"));
              } catch (Throwable t) {
                outcome.add(t);
              }
            });
    caller.start();
    awaitTrue(() -> server.queries("black-hole.example.com", Type.A) == 1, "query sent");
    caller.interrupt();

    assertTrue(outcome.poll(5, TimeUnit.SECONDS) instanceof InterruptedException);
  }

  @Test
  void changesOfSeveralNames_reachEachListenerWithTheChangedNames() throws Exception {
    Set<HostName> names = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      server.setAddresses("c" + i + ".example.com", TTL, "192.0.2." + (i + 1));
      names.add(host("c" + i + ".example.com"));
    }
    resolver.resolve(names);
    LinkedBlockingQueue<Set<HostName>> changes = new LinkedBlockingQueue<>();
    List<Resolutions> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (NameResolver.Subscription ignored =
        resolver.subscribe(
            names,
            (current, changed) -> {
              seen.add(current);
              changes.add(changed);
            })) {
      for (int i = 0; i < 10; i++) {
        server.setAddresses("c" + i + ".example.com", TTL, "198.51.100." + (i + 1));
      }
      scheduler.advance(TTL);

      Set<HostName> reported = new HashSet<>();
      while (!reported.equals(names)) {
        Set<HostName> changed = changes.poll(5, TimeUnit.SECONDS);
        assertNotNull(changed, "changes reported so far: " + reported);
        assertTrue(names.containsAll(changed));
        reported.addAll(changed);
      }
      awaitTrue(
          () ->
              names.stream()
                  .allMatch(
                      name ->
                          seen.get(seen.size() - 1)
                              .addressesOf(name)
                              .iterator()
                              .next()
                              .getHostAddress()
                              .startsWith("198.51.100.")),
          "the last call shows every new address");
    }
  }

  @Test
  void closedSubscription_getsNoMoreCalls() throws Exception {
    server.setAddresses("api.example.com", TTL, "192.0.2.1");
    resolver.resolve(Set.of(host("api.example.com")));
    LinkedBlockingQueue<Resolutions> changes = new LinkedBlockingQueue<>();
    NameResolver.Subscription subscription =
        resolver.subscribe(
            Set.of(host("api.example.com")), (current, changed) -> changes.add(current));
    NameResolver.Subscription other =
        resolver.subscribe(Set.of(host("api.example.com")), (current, changed) -> {});
    subscription.close();
    subscription.close();

    server.setAddresses("api.example.com", TTL, "192.0.2.2");
    scheduler.advance(TTL);
    awaitTrue(() -> resolver.status().get(0).addresses().equals(addresses("192.0.2.2")), "changed");

    assertNull(changes.poll(200, TimeUnit.MILLISECONDS));
    other.close();
  }

  @Test
  void subscribe_toAnUnknownName_looksItUpAndReportsIt() throws Exception {
    server.setAddresses("late.example.com", TTL, "192.0.2.5");
    LinkedBlockingQueue<Set<HostName>> changes = new LinkedBlockingQueue<>();

    try (NameResolver.Subscription ignored =
        resolver.subscribe(
            Set.of(host("late.example.com")), (current, changed) -> changes.add(changed))) {
      assertEquals(Set.of(host("late.example.com")), changes.poll(5, TimeUnit.SECONDS));
    }
  }

  @Test
  void timeout_coldName_resolvesToNothingWithinTheQueryTimeout() throws Exception {
    server.setAddresses("slow.example.com", TTL, "192.0.2.1");
    server.setBehaviour("slow.example.com", Behaviour.DROP);

    Resolutions resolutions = resolver.resolve(Set.of(host("slow.example.com")));

    assertTrue(resolutions.addressesOf(host("slow.example.com")).isEmpty());
    awaitTrue(() -> lastErrorKind("slow.example.com") == FailureKind.TIMEOUT, "timeout recorded");
  }

  @Test
  void eachFailureToGetAnAnswer_keepsLastKnownGoodThenDropsAfterGrace() throws Exception {
    for (Behaviour failure : List.of(Behaviour.SERVFAIL, Behaviour.DROP)) {
      String name = failure.name().toLowerCase(java.util.Locale.ROOT) + ".example.com";
      server.setAddresses(name, TTL, "192.0.2.1");
      assertEquals(
          addresses("192.0.2.1"), resolver.resolve(Set.of(host(name))).addressesOf(host(name)));
      server.setBehaviour(name, failure);
      FailureKind expected =
          failure == Behaviour.SERVFAIL ? FailureKind.SERVFAIL : FailureKind.TIMEOUT;
      assertGraceThenRemoval(name, expected);
      clock.advance(Duration.ofHours(1));
    }
  }

  @Test
  void eachAnswerThatTheNameChanged_dropsItsAddressesAtTheRefresh() throws Exception {
    for (Behaviour answer : List.of(Behaviour.NXDOMAIN, Behaviour.REFUSED, Behaviour.ANSWER)) {
      String name = answer.name().toLowerCase(java.util.Locale.ROOT) + ".example.com";
      server.setAddresses(name, TTL, "192.0.2.1", "2001:db8::1");
      LinkedBlockingQueue<Resolutions> changes = new LinkedBlockingQueue<>();
      try (NameResolver.Subscription ignored =
          resolver.subscribe(Set.of(host(name)), (current, changed) -> changes.add(current))) {
        assertNotNull(changes.poll(5, TimeUnit.SECONDS), "the first answer is heard");
        Instant expiry = statusOf(name).expires();
        if (answer == Behaviour.ANSWER) {
          server.setAddresses(name, TTL); // the name stays, without A or AAAA records
        } else {
          server.setBehaviour(name, answer);
        }

        scheduler.advance(Duration.between(clock.instant(), expiry));

        Resolutions dropped = changes.poll(5, TimeUnit.SECONDS);
        assertNotNull(dropped, name + ": the subscriber hears of the drop");
        assertEquals(Set.of(), dropped.addressesOf(host(name)), name);
        assertEquals(expiry, clock.instant(), "at the refresh, not after a grace time");
        NameStatus status = statusOf(name);
        assertFalse(status.inGrace(), status.describe());
        FailureKind expected =
            answer == Behaviour.ANSWER
                ? FailureKind.EMPTY_ANSWER
                : answer == Behaviour.NXDOMAIN ? FailureKind.NXDOMAIN : FailureKind.REFUSED;
        assertEquals(expected, status.lastError().kind(), status.describe());
      }
    }
  }

  /** How the upstream stops vouching for an address of one family. */
  enum Change {
    OTHER_ADDRESS,
    NODATA,
    NXDOMAIN,
    REFUSED
  }

  static Stream<Arguments> familiesAndChanges() {
    return Stream.of("A", "AAAA")
        .flatMap(family -> Arrays.stream(Change.values()).map(c -> Arguments.of(family, c)));
  }

  /**
   * Issue 17: a dropped A or AAAA address leaves when the refresh at {@code t + clamp(TTL)} gets an
   * answer without it, while the other family's address stays. The TTL of 5 s is clamped to the
   * floor of 10 s.
   */
  @ParameterizedTest(name = "{0} answered {1}")
  @MethodSource("familiesAndChanges")
  void droppedAddress_leavesAtTheRefreshThatGetsAnAnswer(String family, Change change)
      throws Exception {
    int type = Type.value(family);
    ByType upstream = new ByType();
    LinkedBlockingQueue<Set<InetAddress>> heard = subscribedThrough(upstream);
    Instant t = clock.instant();
    String replacement = type == Type.A ? "192.0.2.2" : "2001:db8::2";
    ScriptedResolver.Reply reply =
        switch (change) {
          case OTHER_ADDRESS ->
              ScriptedResolver.Reply.addresses(SHORT_TTL, List.of(IpAddresses.parse(replacement)));
          case NODATA -> ScriptedResolver.Reply.addresses(SHORT_TTL, List.of());
          case NXDOMAIN -> ScriptedResolver.Reply.errorCode(Rcode.NXDOMAIN);
          case REFUSED -> ScriptedResolver.Reply.errorCode(Rcode.REFUSED);
        };
    upstream.replies.put(type, reply);

    scheduler.advance(FLOOR.minusSeconds(1));
    assertEquals(addresses("192.0.2.1", "2001:db8::1"), current(), "still valid before t + T");
    scheduler.advance(Duration.ofSeconds(1));

    Set<String> expected = new HashSet<>(Set.of("192.0.2.1", "2001:db8::1"));
    expected.remove(type == Type.A ? "192.0.2.1" : "2001:db8::1");
    if (change == Change.OTHER_ADDRESS) {
      expected.add(replacement);
    }
    Set<InetAddress> after = heard.poll(5, TimeUnit.SECONDS);
    assertEquals(addresses(expected.toArray(String[]::new)), after);
    assertEquals(t.plus(FLOOR), clock.instant(), "left at t + clamp(TTL): within t + T + Q");
    assertEquals(after, current());
  }

  /**
   * Issue 17: when every refresh fails to get an answer, a dropped address still leaves at {@code t
   * + clamp(TTL) + grace}, never later.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"A", "AAAA"})
  void droppedAddress_whoseRefreshesFail_leavesAtExpiryPlusGrace(String family) throws Exception {
    int type = Type.value(family);
    ByType upstream = new ByType();
    LinkedBlockingQueue<Set<InetAddress>> heard = subscribedThrough(upstream);
    Instant t = clock.instant();
    upstream.replies.put(type, ScriptedResolver.Reply.timeout());

    scheduler.advance(FLOOR);
    scheduler.advance(GRACE.minusSeconds(1));
    assertEquals(addresses("192.0.2.1", "2001:db8::1"), current(), "kept in grace");
    assertTrue(upstream.resolver.queries("api.example.com", type) > 1, "retried meanwhile");
    scheduler.advance(Duration.ofSeconds(1));

    Set<InetAddress> after = heard.poll(5, TimeUnit.SECONDS);
    assertEquals(addresses(type == Type.A ? "2001:db8::1" : "192.0.2.1"), after);
    assertEquals(t.plus(FLOOR).plus(GRACE), clock.instant(), "left at t + clamp(TTL) + grace");
    assertEquals(after, current());
  }

  private static final Duration SHORT_TTL = Duration.ofSeconds(5);
  private static final Duration FLOOR = Duration.ofSeconds(10);

  /** A scripted upstream answering A and AAAA of api.example.com separately. */
  private static final class ByType {
    final Map<Integer, ScriptedResolver.Reply> replies =
        new ConcurrentHashMap<>(
            Map.of(
                Type.A,
                ScriptedResolver.Reply.addresses(
                    SHORT_TTL, List.of(IpAddresses.parse("192.0.2.1"))),
                Type.AAAA,
                ScriptedResolver.Reply.addresses(
                    SHORT_TTL, List.of(IpAddresses.parse("2001:db8::1")))));
    final ScriptedResolver resolver = new ScriptedResolver((name, type) -> replies.get(type));
  }

  /** A resolver on {@code upstream}, subscribed to api.example.com; its first answer heard. */
  private LinkedBlockingQueue<Set<InetAddress>> subscribedThrough(ByType upstream)
      throws Exception {
    resolver.close();
    resolver = builder().upstream(upstream.resolver).ttlFloor(FLOOR).build();
    LinkedBlockingQueue<Set<InetAddress>> heard = new LinkedBlockingQueue<>();
    var unused =
        resolver.subscribe(
            Set.of(host("api.example.com")),
            (current, changed) -> heard.add(current.addressesOf(host("api.example.com"))));
    assertEquals(addresses("192.0.2.1", "2001:db8::1"), heard.poll(5, TimeUnit.SECONDS));
    return heard;
  }

  private Set<InetAddress> current() throws InterruptedException {
    return resolver.resolve(Set.of(host("api.example.com"))).addressesOf(host("api.example.com"));
  }

  @Test
  void networkError_keepsLastKnownGoodThenDropsAfterGrace() throws Exception {
    resolver.close();
    FlakyResolver upstream = new FlakyResolver(new org.xbill.DNS.SimpleResolver(server.address()));
    resolver = builder().upstream(upstream).build();
    server.setAddresses("api.example.com", TTL, "192.0.2.1");
    resolver.resolve(Set.of(host("api.example.com")));
    upstream.failWith(new java.net.PortUnreachableException("ICMP port unreachable"));

    assertGraceThenRemoval("api.example.com", FailureKind.NETWORK_ERROR);
  }

  @Test
  void failureClasses_areReportedByKind() throws Exception {
    java.util.Map<String, ScriptedResolver.Reply> replies =
        java.util.Map.of(
            "refused.example.com.", ScriptedResolver.Reply.errorCode(Rcode.REFUSED),
            "servfail.example.com.", ScriptedResolver.Reply.errorCode(Rcode.SERVFAIL),
            "nxdomain.example.com.", ScriptedResolver.Reply.errorCode(Rcode.NXDOMAIN),
            "timeout.example.com.", ScriptedResolver.Reply.timeout(),
            "unreachable.example.com.",
                ScriptedResolver.Reply.networkError("Network is unreachable"),
            "empty.example.com.", ScriptedResolver.Reply.addresses(TTL, List.of()));
    resolver.close();
    resolver =
        builder().upstream(new ScriptedResolver(name -> replies.get(name.toString()))).build();

    Set<HostName> names =
        replies.keySet().stream().map(DnsNameResolverTest::host).collect(Collectors.toSet());
    Resolutions resolutions = resolver.resolve(names);

    names.forEach(name -> assertTrue(resolutions.addressesOf(name).isEmpty(), name.ascii()));
    assertEquals(FailureKind.REFUSED, lastErrorKind("refused.example.com"));
    assertEquals(FailureKind.SERVFAIL, lastErrorKind("servfail.example.com"));
    assertEquals(FailureKind.NXDOMAIN, lastErrorKind("nxdomain.example.com"));
    assertEquals(FailureKind.TIMEOUT, lastErrorKind("timeout.example.com"));
    assertEquals(FailureKind.NETWORK_ERROR, lastErrorKind("unreachable.example.com"));
    assertEquals(FailureKind.EMPTY_ANSWER, lastErrorKind("empty.example.com"));
  }

  /** Past expiry the lookup fails: the old addresses stay (in grace) until expiry + grace. */
  private void assertGraceThenRemoval(String name, FailureKind expected) throws Exception {
    LinkedBlockingQueue<Resolutions> changes = new LinkedBlockingQueue<>();
    try (NameResolver.Subscription ignored =
        resolver.subscribe(Set.of(host(name)), (current, changed) -> changes.add(current))) {
      Set<InetAddress> before = resolver.resolve(Set.of(host(name))).addressesOf(host(name));
      assertFalse(before.isEmpty());
      Instant expiry = statusOf(name).expires();

      clock.advance(Duration.between(clock.instant(), expiry));
      scheduler.runDue();
      awaitTrue(() -> lastErrorKind(name) == expected, name + " fails with " + expected);
      assertEquals(before, resolver.resolve(Set.of(host(name))).addressesOf(host(name)));
      NameStatus inGrace = statusOf(name);
      assertTrue(inGrace.inGrace(), inGrace.describe());
      assertEquals(expiry.plus(GRACE), inGrace.graceEnds());
      assertEquals(before, inGrace.addresses());

      // A retry just before the grace ends fails too: the addresses are still kept.
      scheduler.advance(Duration.between(clock.instant(), expiry.plus(GRACE).minusSeconds(1)));
      awaitTrue(() -> statusOf(name).lastError().at().equals(clock.instant()), "retried");
      assertEquals(before, resolver.resolve(Set.of(host(name))).addressesOf(host(name)));
      assertNull(changes.poll(), "no change while in grace");

      // At expiry + grace they go, and the subscriber hears it.
      scheduler.advance(Duration.ofSeconds(1));
      assertTrue(resolver.resolve(Set.of(host(name))).addressesOf(host(name)).isEmpty());
      Resolutions dropped = changes.poll(5, TimeUnit.SECONDS);
      assertNotNull(dropped, "subscriber told of the removal");
      assertTrue(dropped.addressesOf(host(name)).isEmpty());
      assertFalse(statusOf(name).inGrace());
      assertEquals(expected, lastErrorKind(name));
    }
  }

  @Test
  void recoveryDuringGrace_publishesTheNewAnswer() throws Exception {
    server.setAddresses("api.example.com", TTL, "192.0.2.1");
    resolver.resolve(Set.of(host("api.example.com")));
    server.setBehaviour("api.example.com", Behaviour.SERVFAIL);
    clock.advance(TTL);
    resolver.resolve(Set.of(host("api.example.com")));
    assertTrue(statusOf("api.example.com").inGrace());

    server.setBehaviour("api.example.com", Behaviour.ANSWER);
    server.setAddresses("api.example.com", TTL, "192.0.2.2");
    clock.advance(RETRY);
    Resolutions recovered = resolver.resolve(Set.of(host("api.example.com")));

    assertEquals(addresses("192.0.2.2"), recovered.addressesOf(host("api.example.com")));
    NameStatus status = statusOf("api.example.com");
    assertFalse(status.inGrace());
    assertNull(status.lastError());
  }

  @Test
  void emptyAnswerForColdName_neverWidens() throws Exception {
    server.setAddresses("nothing.example.com", TTL);
    EgressPolicy policy = PolicyText.parse("allow nothing.example.com port 443\n", "test.policy");

    Resolutions resolutions = resolver.resolve(policy.hostNames());

    assertTrue(resolutions.addressesOf(host("nothing.example.com")).isEmpty());
    for (String address : List.of("192.0.2.1", "0.0.0.0", "2001:db8::1", "::")) {
      assertFalse(
          policy.permits(Flow.tcp(IpAddresses.parse(address), 443), null, resolutions),
          "nothing may be reached through a name that resolved to nothing: " + address);
    }
    assertEquals(FailureKind.EMPTY_ANSWER, lastErrorKind("nothing.example.com"));
  }

  @Test
  void familyAnsweredEmpty_whileTheOtherResolves_isEmptyAtOnce() throws Exception {
    server.setAddresses("dual.example.com", TTL, "192.0.2.1", "2001:db8::1");
    resolver.resolve(Set.of(host("dual.example.com")));
    server.setAddresses("dual.example.com", TTL, "192.0.2.1");
    clock.advance(TTL);

    Resolutions resolutions = resolver.resolve(Set.of(host("dual.example.com")));

    assertEquals(addresses("192.0.2.1"), resolutions.addressesOf(host("dual.example.com")));
    assertNull(statusOf("dual.example.com").lastError());
  }

  @Test
  void nameThatNeverResolves_doesNotBlockTheOthers() throws Exception {
    server.setBehaviour("black-hole.example.com", Behaviour.DROP);
    for (int i = 0; i < 5; i++) {
      server.setAddresses("ok" + i + ".example.com", TTL, "192.0.2." + (i + 1));
    }
    Set<HostName> names = new HashSet<>();
    names.add(host("black-hole.example.com"));
    IntStream.range(0, 5).forEach(i -> names.add(host("ok" + i + ".example.com")));

    Resolutions resolutions = resolver.resolve(names);

    for (int i = 0; i < 5; i++) {
      assertEquals(
          addresses("192.0.2." + (i + 1)),
          resolutions.addressesOf(host("ok" + i + ".example.com")));
    }
    assertTrue(resolutions.addressesOf(host("black-hole.example.com")).isEmpty());
    // While the black hole is retried, the others are answered from the cache without waiting.
    clock.advance(RETRY);
    Set<HostName> good =
        names.stream().filter(n -> n.ascii().startsWith("ok")).collect(Collectors.toSet());
    assertEquals(
        5, resolver.resolve(good).addresses().values().stream().filter(s -> !s.isEmpty()).count());
    assertEquals(1, server.queries("ok0.example.com", Type.A));
  }

  @Test
  void dnssecValidation_bogusAnswerFailsTheLookup() throws Exception {
    server.setAddresses("api.signed.example", TTL, "192.0.2.1");
    resolver.close();
    // An anchor for signed.example: the server's unsigned answers cannot chain up to it.
    resolver =
        builder()
            .dnssecTrustAnchors(
                "signed.example. 3600 IN DS 12345 8 2"
                    + " 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE7F2A4E9E0C5D2E4A3F1B2C3D\n")
            .build();

    Resolutions resolutions = resolver.resolve(Set.of(host("api.signed.example")));

    assertTrue(resolutions.addressesOf(host("api.signed.example")).isEmpty());
    assertEquals(FailureKind.DNSSEC_BOGUS, lastErrorKind("api.signed.example"));
  }

  @Test
  void dnssecValidation_refusedAnswer_isStillRefused() throws Exception {
    resolver.close();
    resolver =
        builder()
            .upstream(new ScriptedResolver(name -> ScriptedResolver.Reply.errorCode(Rcode.REFUSED)))
            .dnssecTrustAnchors(
                "signed.example. 3600 IN DS 12345 8 2"
                    + " 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE7F2A4E9E0C5D2E4A3F1B2C3D\n")
            .build();

    Resolutions resolutions = resolver.resolve(Set.of(host("api.unsigned.example")));

    assertTrue(resolutions.addressesOf(host("api.unsigned.example")).isEmpty());
    assertEquals(FailureKind.REFUSED, lastErrorKind("api.unsigned.example"));
  }

  @Test
  void dnssecValidation_unsignedZoneOutsideTheAnchors_stillResolves() throws Exception {
    server.setAddresses("api.unsigned.example", TTL, "192.0.2.1");
    resolver.close();
    resolver =
        builder()
            .dnssecTrustAnchors(
                "signed.example. 3600 IN DS 12345 8 2"
                    + " 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE7F2A4E9E0C5D2E4A3F1B2C3D\n")
            .build();

    Resolutions resolutions = resolver.resolve(Set.of(host("api.unsigned.example")));

    assertEquals(addresses("192.0.2.1"), resolutions.addressesOf(host("api.unsigned.example")));
  }

  @Test
  void status_describesAddressesExpiryAndErrors() throws Exception {
    server.setAddresses("api.example.com", TTL, "192.0.2.1");
    server.setBehaviour("broken.example.com", Behaviour.SERVFAIL);
    resolver.resolve(Set.of(host("api.example.com"), host("broken.example.com")));

    List<NameStatus> status = resolver.status();

    assertEquals(
        List.of(host("api.example.com"), host("broken.example.com")),
        status.stream().map(NameStatus::name).collect(Collectors.toList()));
    assertEquals(
        "api.example.com 192.0.2.1 expires 2026-01-01T00:01:00Z subscribers=0",
        status.get(0).describe());
    assertTrue(
        status
            .get(1)
            .describe()
            .startsWith("broken.example.com (no addresses) (last error SERVFAIL"),
        status.get(1).describe());
  }

  @Test
  void unusedName_isForgottenAfterItsTtlInsteadOfRefreshed() throws Exception {
    server.setAddresses("once.example.com", TTL, "192.0.2.1");
    resolver.resolve(Set.of(host("once.example.com")));

    scheduler.advance(TTL);

    assertTrue(resolver.status().isEmpty());
    assertEquals(1, server.queries("once.example.com", Type.A));
  }

  @Test
  void closedResolver_refusesWork() throws Exception {
    resolver.close();
    resolver.close();

    assertThrows(
        IllegalStateException.class, () -> resolver.resolve(Set.of(host("api.example.com"))));
    assertThrows(
        IllegalStateException.class,
        () -> resolver.subscribe(Set.of(host("api.example.com")), (current, changed) -> {}));
  }

  @Test
  void builder_rejectsInconsistentSettings() {
    assertThrows(
        IllegalStateException.class,
        () -> builder().ttlFloor(Duration.ofMinutes(5)).ttlCeiling(Duration.ofMinutes(1)).build());
    assertThrows(IllegalArgumentException.class, () -> builder().queryTimeout(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> builder().grace(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> builder().servers(List.of()));
    assertThrows(IllegalArgumentException.class, () -> builder().dnssecTrustAnchors(" "));
    assertThrows(IllegalArgumentException.class, () -> builder().grace(Duration.ofDays(40_000)));
    assertThrows(
        IllegalArgumentException.class, () -> builder().ttlCeiling(Duration.ofDays(40_000)));
  }

  private void assertQueriesPerName(List<HostName> names, int expected) {
    for (HostName name : names) {
      assertEquals(expected, server.queries(name.ascii(), Type.A), name + " A");
      assertEquals(expected, server.queries(name.ascii(), Type.AAAA), name + " AAAA");
    }
    assertEquals(names.size() * 2 * expected, server.totalQueries());
  }

  /**
   * The status of {@code name}. A lookup's result shows here only once the resolver has scheduled
   * what follows it, so a test may move the clock as soon as it sees the result; the server's query
   * counts give no such promise.
   */
  private NameStatus statusOf(String name) {
    return resolver.status().stream()
        .filter(status -> status.name().equals(host(name)))
        .findFirst()
        .orElseThrow(() -> new AssertionError(name + " is not cached"));
  }

  private FailureKind lastErrorKind(String name) {
    LookupError error = statusOf(name).lastError();
    return error == null ? null : error.kind();
  }

  static HostName host(String name) {
    return HostName.of(name);
  }

  static Set<InetAddress> addresses(String... literals) {
    return java.util.Arrays.stream(literals).map(IpAddresses::parse).collect(Collectors.toSet());
  }

  static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not reached within 5 s: " + what);
      }
      Thread.sleep(5);
    }
  }
}
