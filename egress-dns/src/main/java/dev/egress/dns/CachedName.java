package dev.egress.dns;

import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import org.jspecify.annotations.Nullable;

/**
 * One name in the {@link AnswerCache}: what is known about it, where its lookups stand, and its
 * timer. The {@link AnswerCache} changes it only while holding its lock; {@link #known}, {@link
 * #view} and {@link #usedSinceQuery} are also read without it.
 */
final class CachedName {

  /** Where a name's lookups stand. */
  sealed interface Phase permits Waiting, Querying, Evicted {}

  /** No lookup runs; the next is due at {@code nextQuery}. */
  record Waiting(Instant nextQuery) implements Phase {}

  /** {@code lookup} runs: only its answers count, and only until it times out. */
  record Querying(Lookup lookup) implements Phase {}

  /** Forgotten (unused for a TTL period, or the cache closed); a new entry takes its place. */
  record Evicted() implements Phase {}

  /**
   * What {@link AnswerCache#resolve} reads without locking.
   *
   * @param addresses the published addresses
   * @param freshUntil until when they hold without a lookup or a grace end changing them
   */
  record View(Set<InetAddress> addresses, Instant freshUntil) {}

  final HostName name;
  Phase phase;
  volatile Knowledge known = Knowledge.NONE;

  /** The addresses subscribers were last told about. */
  Set<InetAddress> announced = Set.of();

  /** Fires at the next query or grace end; null when none is due. */
  @Nullable ScheduledFuture<?> timer;

  volatile View view;

  /** Whether {@code resolve} asked for the name since its last lookup started. */
  volatile boolean usedSinceQuery;

  /** A new name, due to be looked up at {@code now}. */
  CachedName(HostName name, Instant now) {
    this.name = name;
    this.phase = new Waiting(now);
    this.view = new View(Set.of(), now);
  }

  /** Whether {@code lookup} is the one running (not timed out, superseded or abandoned). */
  boolean runs(Lookup lookup) {
    return phase instanceof Querying querying && querying.lookup() == lookup;
  }

  /**
   * One lookup of a name's two address families. Its identity tells the running lookup from an
   * abandoned one. Guarded by the owning entry's lock, except the futures.
   */
  static final class Lookup {
    /** Completes when the lookup's answers are applied, or it is abandoned. */
    final CompletableFuture<Void> done = new CompletableFuture<>();

    private final Map<AddressFamily, Arrival> arrivals = new EnumMap<>(AddressFamily.class);
    private final CompletableFuture<Arrival> ipv4Arrival = new CompletableFuture<>();
    private final CompletableFuture<Arrival> ipv6Arrival = new CompletableFuture<>();
    @Nullable ScheduledFuture<?> timeout;

    /** A family's answer and when it arrived (its TTL counts from then). */
    record Arrival(Answer answer, Instant at) {}

    /** Keeps the first answer for {@code family}, arrived at {@code now}. */
    void record(AddressFamily family, Answer answer, Instant now) {
      Arrival arrival = new Arrival(answer, now);
      if (arrivals.putIfAbsent(family, arrival) == null) {
        arrivalOf(family).complete(arrival);
      }
    }

    /**
     * Completes when {@code family}'s answer arrives, whether or not the other family's has: a DNS
     * filter answers from it without waiting. Completes normally in any case: with an {@link
     * Answer.Failed} when the lookup times out or is abandoned first.
     */
    CompletableFuture<Arrival> arrivalOf(AddressFamily family) {
      return family == AddressFamily.IPV4 ? ipv4Arrival : ipv6Arrival;
    }

    /** Ends the lookup without its missing answers: whoever waits for one gets {@code failure}. */
    void abandon(LookupError failure) {
      Arrival failed = new Arrival(new Answer.Failed(failure), failure.at());
      ipv4Arrival.complete(failed);
      ipv6Arrival.complete(failed);
      done.complete(null);
    }

    boolean hasAnswer(AddressFamily family) {
      return arrivals.containsKey(family);
    }

    boolean complete() {
      return arrivals.size() == AddressFamily.values().length;
    }

    Arrival arrival(AddressFamily family) {
      return Objects.requireNonNull(arrivals.get(family), "not answered yet");
    }
  }
}
