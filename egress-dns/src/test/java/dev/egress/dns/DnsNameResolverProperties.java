package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.dns.ScriptedResolver;
import dev.egress.testkit.dns.ScriptedResolver.Reply;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

class DnsNameResolverProperties {
  private static final Duration FLOOR = Duration.ofSeconds(10);
  private static final Duration CEILING = Duration.ofSeconds(300);
  private static final Duration GRACE = Duration.ofSeconds(60);
  private static final HostName NAME = HostName.of("cdn.example.com");
  private static final List<InetAddress> POOL =
      List.of("192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1", "2001:db8::2").stream()
          .map(IpAddresses::parse)
          .toList();
  private static final ExecutorService EXECUTOR = Executors.newCachedThreadPool();

  /** One step: the upstream's reply from now on, then how far the clock moves. */
  record Step(Reply reply, Duration advance) {}

  /** An answer the upstream gave, when, and until when (clamped TTL plus grace) it may be used. */
  record Given(Set<InetAddress> addresses, Instant at, Instant usableUntil) {}

  @AfterContainer
  static void stopExecutor() {
    EXECUTOR.shutdownNow();
  }

  @Property(tries = 200)
  void publishedAddresses_alwaysComeFromAnAnswerWithinTheGraceWindow(
      @ForAll("steps") List<Step> steps) throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    ManualScheduler scheduler = new ManualScheduler(clock);
    AtomicReference<Reply> reply = new AtomicReference<>();
    List<Given> given = new java.util.concurrent.CopyOnWriteArrayList<>();
    ScriptedResolver upstream =
        new ScriptedResolver(
            name -> {
              Reply current = reply.get();
              if (current instanceof ScriptedResolver.Addresses addresses) {
                Duration ttl = clamp(addresses.ttl());
                given.add(
                    new Given(
                        Set.copyOf(addresses.addresses()),
                        clock.instant(),
                        clock.instant().plus(ttl).plus(GRACE)));
              }
              return current;
            });
    AtomicReference<Resolutions> notified = new AtomicReference<>(Resolutions.none());
    try (DnsNameResolver resolver =
            DnsNameResolver.builder()
                .upstream(upstream)
                .queryTimeout(Duration.ofSeconds(2))
                .ttlFloor(FLOOR)
                .ttlCeiling(CEILING)
                .grace(GRACE)
                .retryInterval(Duration.ofSeconds(5))
                .clock(clock)
                .scheduler(scheduler)
                .executor(EXECUTOR)
                .build();
        NameResolver.Subscription ignored =
            resolver.subscribe(Set.of(NAME), (current, changed) -> notified.set(current))) {
      for (Step step : steps) {
        reply.set(step.reply());
        scheduler.advance(step.advance());
        Set<InetAddress> published = resolver.resolve(Set.of(NAME)).addressesOf(NAME);
        assertFromRecentAnswer(published, given, clock.instant(), "resolve");
        assertFromRecentAnswer(
            resolver.status().get(0).addresses(), given, clock.instant(), "status");
      }
    }
  }

  private static void assertFromRecentAnswer(
      Set<InetAddress> published, List<Given> given, Instant now, String where) {
    for (InetAddress address : published) {
      boolean backed =
          given.stream()
              .anyMatch(g -> g.addresses().contains(address) && now.isBefore(g.usableUntil()));
      assertTrue(
          backed,
          where
              + " published "
              + address
              + " at "
              + now
              + " but no answer within the grace"
              + " window contained it; answers: "
              + given);
    }
  }

  private static Duration clamp(Duration ttl) {
    return ttl.compareTo(FLOOR) < 0 ? FLOOR : ttl.compareTo(CEILING) > 0 ? CEILING : ttl;
  }

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<Reply> addresses =
        Combinators.combine(
                Arbitraries.subsetOf(POOL).ofMinSize(0), Arbitraries.longs().between(0, 600))
            .as((set, ttl) -> Reply.addresses(Duration.ofSeconds(ttl), new ArrayList<>(set)));
    Arbitrary<Reply> failure =
        Arbitraries.of(
            Reply.timeout(),
            Reply.errorCode(org.xbill.DNS.Rcode.SERVFAIL),
            Reply.errorCode(org.xbill.DNS.Rcode.NXDOMAIN),
            Reply.errorCode(org.xbill.DNS.Rcode.REFUSED),
            Reply.networkError("scripted network error"),
            Reply.addresses(Duration.ofSeconds(60), List.of()));
    Arbitrary<Reply> reply =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(3, addresses), net.jqwik.api.Tuple.of(2, failure));
    Arbitrary<Duration> advance = Arbitraries.longs().between(0, 400).map(Duration::ofSeconds);
    return Combinators.combine(reply, advance).as(Step::new).list().ofMinSize(1).ofMaxSize(15);
  }
}
