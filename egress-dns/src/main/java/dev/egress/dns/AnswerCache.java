package dev.egress.dns;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answer cache behind {@link DnsNameResolver}: one entry per name, driven by a clock and a
 * scheduler, asking an {@link Upstream} and telling {@link Subscribers} about changes. It knows
 * nothing of DNS messages; tests drive it with a fake upstream, a manual clock and a manual
 * scheduler.
 *
 * <p><b>A name's states</b> ({@link CachedName.Phase}): it is {@code Waiting} for its next query,
 * {@code Querying} (one lookup of both families at a time, shared by every caller), or {@code
 * Evicted}. A new entry is due at once. A lookup ends when both families answered or at the query
 * timeout, whichever comes first; families unanswered then count as {@link FailureKind#TIMEOUT}. An
 * answer that arrives after its lookup ended is ignored, so a late answer never replaces a newer
 * one. When a lookup ends, each family's answer is applied ({@link Answer#applyTo}; its TTL counts
 * from its arrival), the next query is set ({@link Knowledge#nextQuery}: the earliest expiry, or
 * the retry interval after a failure), and subscribers hear of a change of the published set. The
 * entry's timer fires at the next query or grace end, whichever is first: at a grace end the
 * published set shrinks (also while a lookup runs); at the next query the name is looked up again
 * if it is subscribed to or was resolved since its last lookup began, and evicted otherwise. A DNS
 * filter's {@link #answer} for one family does not wait for the lookup to end: it takes that
 * family's answer as soon as it arrives.
 *
 * <p><b>Threads.</b> Thread-safe; each entry's changes happen under its lock, upstream calls and
 * subscriber notifications outside it. {@link #resolve} reads a fresh entry without locking and
 * otherwise waits, at most the query timeout, for the entry's lookup. {@link #status} reads each
 * entry under its lock, so it never shows a lookup's result before the entry's next timer is set.
 */
final class AnswerCache implements NameResolver, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AnswerCache.class);

  private final Upstream upstream;
  private final Timings timings;
  private final Clock clock;
  private final ScheduledExecutorService scheduler;
  private final Subscribers subscribers;
  private final ConcurrentHashMap<HostName, CachedName> names = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * @param scheduler runs timers and query timeouts; the caller keeps ownership
   * @param executor runs listener calls; must not run them on the submitting thread
   */
  AnswerCache(
      Upstream upstream,
      Timings timings,
      Clock clock,
      ScheduledExecutorService scheduler,
      Executor executor) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.timings = Objects.requireNonNull(timings, "timings");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.subscribers = new Subscribers(executor, this::currentOf);
  }

  @Override
  public Resolutions resolve(Set<HostName> requested) throws InterruptedException {
    Objects.requireNonNull(requested, "names");
    checkOpen();
    Instant now = clock.instant();
    Map<HostName, Set<InetAddress>> result = new HashMap<>();
    List<CachedName> awaited = new ArrayList<>();
    List<CompletableFuture<Void>> pending = new ArrayList<>();
    for (HostName name : requested) {
      if (name.isWildcard()) {
        continue; // a wildcard has no addresses of its own; it needs DNS filtering
      }
      CachedName entry = names.get(name);
      if (entry != null) {
        entry.usedSinceQuery = true;
        CachedName.View view = entry.view;
        if (now.isBefore(view.freshUntil())) {
          result.put(name, view.addresses());
          continue;
        }
      }
      entry = liveEntry(name, now);
      CachedName.Lookup started = null;
      CompletableFuture<Void> inFlight = null;
      synchronized (entry) {
        entry.usedSinceQuery = true;
        if (entry.phase instanceof CachedName.Querying querying) {
          inFlight = querying.lookup().done;
        } else if (isDue(entry, now)) {
          started = beginLookup(entry, now);
          inFlight = started.done;
        }
      }
      if (started != null) {
        send(entry, started);
      }
      if (inFlight == null) {
        result.put(name, entry.known.published(now, timings.grace()));
      } else {
        pending.add(inFlight);
        awaited.add(entry);
      }
    }
    if (!pending.isEmpty()) {
      awaitAnswers(pending);
      Instant after = clock.instant();
      for (CachedName entry : awaited) {
        result.put(entry.name, entry.known.published(after, timings.grace()));
      }
    }
    return new Resolutions(result);
  }

  private void awaitAnswers(List<CompletableFuture<Void>> pending) throws InterruptedException {
    if (!completesInTime(CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)))) {
      log.debug(
          "resolve: answers still missing after {}; using what is known", timings.queryTimeout());
    }
  }

  @Override
  public Subscription subscribe(Set<HostName> requested, Listener listener) {
    Objects.requireNonNull(requested, "names");
    Objects.requireNonNull(listener, "listener");
    checkOpen();
    Set<HostName> resolvable =
        requested.stream()
            .filter(name -> !name.isWildcard())
            .collect(Collectors.toUnmodifiableSet());
    Subscription subscription = subscribers.add(resolvable, listener);
    Instant now = clock.instant();
    for (HostName name : resolvable) {
      CachedName entry = liveEntry(name, now);
      CachedName.Lookup started = null;
      synchronized (entry) {
        if (isDue(entry, now)) {
          started = beginLookup(entry, now); // its answer reaches the subscription as a change
        }
      }
      if (started != null) {
        send(entry, started);
      }
    }
    return subscription;
  }

  /**
   * What a DNS filter may answer for {@code family} of {@code name}: what is known while it is
   * fresh; otherwise that family's answer from the name's lookup (started if none runs) as soon as
   * it arrives, without waiting for the other family's. Blocks at most for twice the query timeout
   * (the second time when the answer has outlived its TTL by the time it is read: a TTL floor below
   * the lookup's duration, a clock that jumped); a family still unanswered then is a failure, and
   * so is a close meanwhile.
   */
  NameAnswer answer(HostName name, AddressFamily family) throws InterruptedException {
    checkOpen();
    Optional<NameAnswer> answer = answerOnce(name, family);
    return answer.isPresent()
        ? answer.get()
        : answerOnce(name, family).orElseGet(() -> failed("no fresh answer"));
  }

  /** The answer; empty when the lookup's answer had outlived its TTL (that lookup has ended). */
  private Optional<NameAnswer> answerOnce(HostName name, AddressFamily family)
      throws InterruptedException {
    while (true) {
      if (closed) {
        return Optional.of(new NameAnswer.Failed(closedFailure()));
      }
      Instant now = clock.instant();
      CachedName entry = liveEntry(name, now);
      entry.usedSinceQuery = true;
      if (now.isBefore(entry.view.freshUntil())) {
        // A family's expiry never comes before freshUntil; answerFor checks it anyway.
        return Optional.of(entry.known.answerFor(family, now));
      }
      CachedName.Lookup running;
      CachedName.Lookup started = null;
      synchronized (entry) {
        if (entry.phase instanceof CachedName.Evicted) {
          continue; // forgotten just now, or closed
        }
        entry.usedSinceQuery = true;
        if (entry.phase instanceof CachedName.Querying querying) {
          running = querying.lookup();
        } else if (!isDue(entry, now)) {
          return Optional.of(entry.known.answerFor(family, now));
        } else if (closed) {
          return Optional.of(new NameAnswer.Failed(closedFailure())); // close() locks after this
        } else {
          running = beginLookup(entry, now);
          started = running;
        }
      }
      if (started != null) {
        send(entry, started);
      }
      return answerFrom(running, family);
    }
  }

  /** {@code family}'s answer from {@code lookup} once it arrives; empty if it is stale by then. */
  private Optional<NameAnswer> answerFrom(CachedName.Lookup lookup, AddressFamily family)
      throws InterruptedException {
    CompletableFuture<CachedName.Lookup.Arrival> arrival = lookup.arrivalOf(family);
    if (!completesInTime(arrival)) {
      return Optional.of(failed("no answer within the query timeout"));
    }
    Answer given = arrival.join().answer();
    NameAnswer answer =
        Knowledge.answerOnArrival(given, arrival.join().at(), clock.instant(), timings);
    boolean outlivedItsTtl =
        given instanceof Answer.Addresses && !(answer instanceof NameAnswer.Addresses);
    if (!outlivedItsTtl) {
      return Optional.of(answer);
    }
    if (!completesInTime(lookup.done)) {
      return Optional.of(failed("no fresh answer within the query timeout"));
    }
    return Optional.empty(); // the lookup has ended: the next one is due
  }

  /** Whether {@code future} completes within the query timeout. */
  private boolean completesInTime(CompletableFuture<?> future) throws InterruptedException {
    try {
      future.get(timings.queryTimeout().toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException("lookup completion failed unexpectedly", e.getCause());
    }
  }

  private NameAnswer failed(String detail) {
    return new NameAnswer.Failed(new LookupError(FailureKind.TIMEOUT, detail, clock.instant()));
  }

  private LookupError closedFailure() {
    return new LookupError(FailureKind.TIMEOUT, "the resolver closed", clock.instant());
  }

  /**
   * What is known about every cached name, sorted by name; never blocks on lookups. Each name is
   * read under its lock: a lookup's result shows only once the name's next timer (its next query or
   * grace end) is scheduled, which tests on a manual clock rely on before moving it.
   */
  List<NameStatus> status() {
    Instant now = clock.instant();
    List<NameStatus> statuses = new ArrayList<>();
    for (CachedName entry : names.values()) {
      Knowledge known;
      synchronized (entry) {
        known = entry.known;
      }
      statuses.add(known.status(entry.name, now, timings.grace(), subscribers.count(entry.name)));
    }
    statuses.sort(Comparator.comparing(NameStatus::name));
    return List.copyOf(statuses);
  }

  /** Stops timers and listener calls, abandons lookups, forgets every name; idempotent. */
  @Override
  public void close() {
    closed = true;
    subscribers.close();
    for (CachedName entry : names.values()) {
      CachedName.Lookup abandoned = null;
      synchronized (entry) {
        cancelTimer(entry);
        if (entry.phase instanceof CachedName.Querying querying) {
          abandoned = querying.lookup();
          cancelTimeout(abandoned);
        }
        entry.phase = new CachedName.Evicted();
      }
      if (abandoned != null) {
        abandoned.abandon(closedFailure());
      }
    }
    names.clear();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this resolver is closed; build a new one");
    }
  }

  /** The entry of {@code name}, created if absent, never one that was evicted. */
  private CachedName liveEntry(HostName name, Instant now) {
    while (true) {
      CachedName entry = names.computeIfAbsent(name, n -> new CachedName(n, now));
      synchronized (entry) {
        if (!(entry.phase instanceof CachedName.Evicted)) {
          return entry;
        }
      }
      names.remove(name, entry);
    }
  }

  private static boolean isDue(CachedName entry, Instant now) {
    return entry.phase instanceof CachedName.Waiting waiting && !now.isBefore(waiting.nextQuery());
  }

  /** Moves {@code entry} to {@code Querying}; the caller holds its lock, then calls send. */
  private CachedName.Lookup beginLookup(CachedName entry, Instant now) {
    CachedName.Lookup lookup = new CachedName.Lookup();
    entry.phase = new CachedName.Querying(lookup);
    entry.usedSinceQuery = false;
    entry.view = new CachedName.View(entry.view.addresses(), now); // resolve waits for the lookup
    armTimer(entry, now); // grace ends still apply while it runs
    try {
      lookup.timeout =
          scheduler.schedule(
              () -> onTimeout(entry, lookup),
              timings.queryTimeout().toNanos(),
              TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      log.debug("egress-dns: scheduler stopped; the lookup of {} has no timeout", entry.name);
    }
    return lookup;
  }

  /** Asks the upstream for both families of a lookup; called without the entry's lock. */
  private void send(CachedName entry, CachedName.Lookup lookup) {
    for (AddressFamily family : AddressFamily.values()) {
      CompletionStage<Answer> answer;
      try {
        answer = upstream.query(entry.name, family);
      } catch (RuntimeException e) {
        answer = CompletableFuture.failedFuture(e);
      }
      answer.whenComplete(
          (result, error) ->
              onAnswer(
                  entry,
                  lookup,
                  family,
                  result != null && error == null ? result : brokenUpstream(family, error)));
    }
  }

  private Answer brokenUpstream(AddressFamily family, Throwable error) {
    String detail =
        family.recordType()
            + ": the upstream failed: "
            + (error == null ? "no answer" : error.toString());
    return new Answer.Failed(new LookupError(FailureKind.UNUSABLE_ANSWER, detail, clock.instant()));
  }

  private void onAnswer(
      CachedName entry, CachedName.Lookup lookup, AddressFamily family, Answer answer) {
    try {
      Subscribers.Change change;
      synchronized (entry) {
        if (!entry.runs(lookup)) {
          return; // timed out, or the cache closed: a late answer never counts
        }
        Instant now = clock.instant();
        lookup.record(family, answer, now);
        if (!lookup.complete()) {
          return;
        }
        change = finish(entry, lookup, now);
      }
      change.deliver();
      lookup.done.complete(null);
    } catch (RuntimeException e) {
      log.error("egress-dns: internal error applying an answer for {}", entry.name, e);
    }
  }

  private void onTimeout(CachedName entry, CachedName.Lookup lookup) {
    Subscribers.Change change;
    synchronized (entry) {
      if (!entry.runs(lookup)) {
        return;
      }
      Instant now = clock.instant();
      for (AddressFamily family : AddressFamily.values()) {
        if (!lookup.hasAnswer(family)) {
          String detail = family.recordType() + ": no answer within " + timings.queryTimeout();
          lookup.record(
              family, new Answer.Failed(new LookupError(FailureKind.TIMEOUT, detail, now)), now);
        }
      }
      change = finish(entry, lookup, now);
    }
    change.deliver();
    lookup.done.complete(null);
  }

  /**
   * Applies a lookup's answers and goes back to {@code Waiting}; the caller holds the entry's lock
   * and delivers the change after releasing it.
   */
  private Subscribers.Change finish(CachedName entry, CachedName.Lookup lookup, Instant now) {
    cancelTimeout(lookup);
    CachedName.Lookup.Arrival ipv4 = lookup.arrival(AddressFamily.IPV4);
    CachedName.Lookup.Arrival ipv6 = lookup.arrival(AddressFamily.IPV6);
    Knowledge known =
        entry.known.after(ipv4.answer(), ipv4.at(), ipv6.answer(), ipv6.at(), timings);
    entry.known = known;
    entry.phase = new CachedName.Waiting(known.nextQuery(now, timings));
    LookupError error = known.lastError();
    if (error != null) {
      logFailure(entry.name, error, known, now);
    }
    Subscribers.Change change = publish(entry, now);
    armTimer(entry, now);
    return change;
  }

  private void logFailure(HostName name, LookupError error, Knowledge known, Instant now) {
    if (!error.kind().graceApplies()) {
      log.warn(
          "egress-dns: lookup of {} answered {}: the addresses it no longer vouches for go at once",
          name,
          error);
      return;
    }
    Set<InetAddress> kept = known.published(now, timings.grace());
    log.warn(
        "egress-dns: lookup of {} failed ({}); {}",
        name,
        error,
        kept.isEmpty()
            ? "it has no addresses"
            : "keeping its last known addresses "
                + format(kept)
                + " until at most "
                + known.lastGraceEnd(timings.grace()).orElseThrow());
  }

  /**
   * Recomputes the published view; the caller holds the lock and delivers the change after
   * releasing it.
   *
   * @return the change for the subscriptions watching the name now; {@code NONE} if the published
   *     addresses are those subscribers were last told about
   */
  private Subscribers.Change publish(CachedName entry, Instant now) {
    Set<InetAddress> current = entry.known.published(now, timings.grace());
    entry.view = new CachedName.View(current, freshUntil(entry, now));
    if (current.equals(entry.announced)) {
      return Subscribers.Change.NONE;
    }
    if (current.isEmpty()) {
      log.warn("egress-dns: {} now has no addresses (was {})", entry.name, format(entry.announced));
    } else {
      log.info("egress-dns: {} now resolves to {}", entry.name, format(current));
    }
    entry.announced = current;
    return subscribers.changeOf(entry.name);
  }

  private Instant freshUntil(CachedName entry, Instant now) {
    if (!(entry.phase instanceof CachedName.Waiting waiting)) {
      return now;
    }
    Optional<Instant> graceEnd = entry.known.nextGraceEnd(now, timings.grace());
    return graceEnd.filter(end -> end.isBefore(waiting.nextQuery())).orElse(waiting.nextQuery());
  }

  /** Arms the entry's timer for its next query or grace end; the caller holds the lock. */
  private void armTimer(CachedName entry, Instant now) {
    cancelTimer(entry);
    if (closed || entry.phase instanceof CachedName.Evicted) {
      return;
    }
    Optional<Instant> due =
        entry.phase instanceof CachedName.Waiting
            ? Optional.of(freshUntil(entry, now))
            : entry.known.nextGraceEnd(now, timings.grace());
    if (due.isEmpty()) {
      return;
    }
    long delay = Math.max(0, Duration.between(now, due.get()).toNanos());
    try {
      entry.timer = scheduler.schedule(() -> onTimer(entry), delay, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      log.debug("egress-dns: scheduler stopped; {} is no longer refreshed", entry.name);
    }
  }

  private void onTimer(CachedName entry) {
    Instant now = clock.instant();
    Subscribers.Change change;
    CachedName.Lookup started = null;
    synchronized (entry) {
      entry.timer = null;
      if (closed || entry.phase instanceof CachedName.Evicted) {
        return;
      }
      change = publish(entry, now);
      if (!isDue(entry, now)) {
        armTimer(entry, now);
      } else if (entry.usedSinceQuery || subscribers.watched(entry.name)) {
        started = beginLookup(entry, now); // its end re-arms the timer
      } else {
        entry.phase = new CachedName.Evicted();
        names.remove(entry.name, entry);
        log.debug("egress-dns: {} unused for a TTL period; forgotten", entry.name);
      }
    }
    change.deliver();
    if (started != null) {
      send(entry, started);
    }
  }

  private static void cancelTimer(CachedName entry) {
    if (entry.timer != null) {
      entry.timer.cancel(false);
      entry.timer = null;
    }
  }

  private static void cancelTimeout(CachedName.Lookup lookup) {
    if (lookup.timeout != null) {
      lookup.timeout.cancel(false);
    }
  }

  private Resolutions currentOf(Set<HostName> requested) {
    Instant now = clock.instant();
    Map<HostName, Set<InetAddress>> current = new HashMap<>();
    for (HostName name : requested) {
      CachedName entry = names.get(name);
      if (entry != null) {
        current.put(name, entry.known.published(now, timings.grace()));
      }
    }
    return new Resolutions(current);
  }

  private static String format(Set<InetAddress> addresses) {
    return addresses.stream()
        .map(IpAddresses::format)
        .sorted()
        .collect(Collectors.joining(", ", "[", "]"));
  }
}
