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
   * abandoned one. Guarded by the owning entry's lock, except {@link #done}.
   */
  static final class Lookup {
    /** Completes when the lookup's answers are applied, or it is abandoned. */
    final CompletableFuture<Void> done = new CompletableFuture<>();

    private final Map<AddressFamily, Answer> answers = new EnumMap<>(AddressFamily.class);
    @Nullable ScheduledFuture<?> timeout;

    /** Keeps the first answer for {@code family}. */
    void record(AddressFamily family, Answer answer) {
      answers.putIfAbsent(family, answer);
    }

    boolean hasAnswer(AddressFamily family) {
      return answers.containsKey(family);
    }

    boolean complete() {
      return answers.size() == AddressFamily.values().length;
    }

    Answer answer(AddressFamily family) {
      return Objects.requireNonNull(answers.get(family), "not answered yet");
    }
  }
}
