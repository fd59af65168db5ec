package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The stale-address bound as a model: whatever the upstream answers and whenever, a family
 * publishes exactly the addresses of its last answer that spoke for the name (addresses, none,
 * NXDOMAIN, REFUSED, neither A nor AAAA), and only until that answer's time plus its clamped TTL
 * plus the grace; failures to get an answer change nothing. Subscribers always know the published
 * set.
 */
class AnswerCacheProperties {
  private static final Duration FLOOR = Duration.ofSeconds(10);
  private static final Duration CEILING = Duration.ofSeconds(300);
  private static final Duration GRACE = Duration.ofSeconds(60);
  private static final Duration RETRY = Duration.ofSeconds(5);
  private static final HostName NAME = HostName.of("cdn.example.com");
  private static final Map<AddressFamily, List<InetAddress>> POOL =
      Map.of(
          AddressFamily.IPV4,
          List.of(ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")),
          AddressFamily.IPV6,
          List.of(ip("2001:db8::1"), ip("2001:db8::2")));

  /** One step: what each family is answered from now on, then how far the clock moves. */
  record Step(Answer ipv4, Answer ipv6, Duration advance) {}

  /** An answer the upstream gave for a family, and when. */
  record Given(AddressFamily family, Answer answer, Instant at) {}

  @Property(tries = 300)
  void eachFamilyPublishes_exactlyItsLastAnswer_untilItsClampedTtlPlusGrace(
      @ForAll("steps") List<Step> steps) throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    ManualScheduler scheduler = new ManualScheduler(clock);
    Map<AddressFamily, Answer> current = new EnumMap<>(AddressFamily.class);
    List<Given> given = new ArrayList<>();
    Upstream upstream =
        (name, family) -> {
          Answer answer = current.get(family);
          given.add(new Given(family, answer, clock.instant()));
          return CompletableFuture.completedFuture(answer);
        };
    Timings timings = new Timings(Duration.ofSeconds(3), FLOOR, CEILING, GRACE, RETRY);
    AtomicReference<Resolutions> heard = new AtomicReference<>(Resolutions.none());
    try (AnswerCache cache = new AnswerCache(upstream, timings, clock, scheduler, Runnable::run)) {
      current.put(AddressFamily.IPV4, steps.get(0).ipv4());
      current.put(AddressFamily.IPV6, steps.get(0).ipv6());
      cache.subscribe(Set.of(NAME), (resolutions, changed) -> heard.set(resolutions));
      for (Step step : steps) {
        current.put(AddressFamily.IPV4, step.ipv4());
        current.put(AddressFamily.IPV6, step.ipv6());
        scheduler.advance(step.advance());

        Set<InetAddress> resolved = cache.resolve(Set.of(NAME)).addressesOf(NAME);
        Set<InetAddress> expected = model(given, clock.instant());
        String context = "at " + clock.instant() + " after " + given;
        assertEquals(expected, resolved, "resolve " + context);
        assertEquals(expected, cache.status().get(0).addresses(), "status " + context);
        assertEquals(expected, heard.get().addressesOf(NAME), "subscriber " + context);
      }
    }
  }

  /** What the specification says is published at {@code now}, from the answers given so far. */
  private static Set<InetAddress> model(List<Given> given, Instant now) {
    Set<InetAddress> published = new HashSet<>();
    for (AddressFamily family : AddressFamily.values()) {
      Given last = null;
      for (Given g : given) {
        if (g.family() == family && spokeForTheName(g.answer())) {
          last = g;
        }
      }
      if (last != null && last.answer() instanceof Answer.Addresses addresses) {
        Instant until = last.at().plus(clamp(addresses.ttl())).plus(GRACE);
        if (now.isBefore(until)) {
          published.addAll(addresses.addresses());
        }
      }
    }
    return published;
  }

  /**
   * Whether {@code answer} replaces what its family held: addresses, none (two of these in one
   * lookup make an EMPTY_ANSWER, which is the same), or a failure that is an answer.
   */
  private static boolean spokeForTheName(Answer answer) {
    return !(answer instanceof Answer.Failed failed) || !failed.failure().kind().graceApplies();
  }

  private static Duration clamp(Duration ttl) {
    return ttl.compareTo(FLOOR) < 0 ? FLOOR : ttl.compareTo(CEILING) > 0 ? CEILING : ttl;
  }

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<Duration> advance = Arbitraries.longs().between(0, 400).map(Duration::ofSeconds);
    return Combinators.combine(answer(AddressFamily.IPV4), answer(AddressFamily.IPV6), advance)
        .as(Step::new)
        .list()
        .ofMinSize(1)
        .ofMaxSize(12);
  }

  private static Arbitrary<Answer> answer(AddressFamily family) {
    Arbitrary<Answer> addresses =
        Combinators.combine(
                Arbitraries.subsetOf(POOL.get(family)).ofMinSize(1),
                Arbitraries.longs().between(0, 600))
            .as((set, ttl) -> new Answer.Addresses(set, Duration.ofSeconds(ttl)));
    Arbitrary<Answer> failed =
        Arbitraries.of(FailureKind.class)
            .map(
                kind ->
                    new Answer.Failed(
                        new LookupError(kind, "scripted", Instant.parse("2026-01-01T00:00:00Z"))));
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(4, addresses),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(new Answer.NoAddresses())),
        net.jqwik.api.Tuple.of(3, failed));
  }

  private static InetAddress ip(String literal) {
    return IpAddresses.parse(literal);
  }
}
