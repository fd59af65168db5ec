package dev.egress.dns;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;
import org.xbill.DNS.hosts.HostsFileParser;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;
import org.xbill.DNS.lookup.ServerFailedException;

/**
 * A {@link NameResolver} on dnsjava's {@link LookupSession}: one cache shared by every caller, A
 * and AAAA of all names queried concurrently, answers kept for their (clamped) TTL and refreshed
 * when it ends, subscribers told only about real changes, and failures that never widen.
 *
 * <p><b>Queries.</b> Names are absolute ({@code api.example.com} is asked as {@code
 * api.example.com.}, never through a search path) and the hosts file is consulted only when {@link
 * Builder#hostsFile} says so. A and AAAA are asked together; CNAME chains are followed by dnsjava.
 * Callers that ask for a name whose answer is missing or expired share one in-flight query per
 * name, so many containers using one name cause one pair of upstream queries per TTL period.
 * Wildcard names ({@code *.example.com}) cannot be resolved and map to nothing.
 *
 * <p><b>TTL.</b> A name's addresses are valid for the smallest TTL of its answer, clamped to
 * [{@link Builder#ttlFloor floor}, {@link Builder#ttlCeiling ceiling}]. A name stays cached while
 * it is subscribed to or was asked for since its last query; it is refreshed when its TTL ends, and
 * evicted instead when nobody used it during that period. An enforcer should {@link #subscribe} to
 * a policy's names when it {@link #resolve resolves} them (before or right after): changes that
 * happen before a name is subscribed to are not reported to the new subscription.
 *
 * <p><b>Failures.</b> A timeout, SERVFAIL, NXDOMAIN, empty answer (neither A nor AAAA), network
 * error or bogus DNSSEC answer keeps the addresses the name last had until {@code expiry + grace}
 * (logged and shown in {@link #status()}), then drops them; the lookup is retried every {@link
 * Builder#retryInterval retry interval} meanwhile. An address family answered empty while the other
 * has addresses is simply empty (a definitive answer narrows at once). Nothing ever maps to "any":
 * a name that never resolved contributes no address.
 *
 * <p><b>Addresses never published.</b> Answered addresses in a row of {@link UnusableAddress}
 * (unspecified, this-network, loopback, link-local, cloud metadata, multicast, broadcast,
 * site-local, IPv4-mapped, and the NAT64, 6to4 and IPv4-compatible forms of the IPv4 rows) are
 * dropped and logged at WARN with the row's reason: a name an attacker controls could otherwise
 * point an allowed name at them (DNS rebinding). A name answered only with such addresses resolves
 * to nothing. Private ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7) stay allowed:
 * internal services are legitimate destinations.
 *
 * <p><b>Threads.</b> Thread-safe. {@link #resolve} blocks at most for the query timeout (it never
 * waits for a name that is already known and fresh). Lookups complete and listeners run on the
 * {@link Builder#executor executor}; refresh timers run on the {@link Builder#scheduler scheduler}.
 * {@link #close()} stops refreshes and listeners and is idempotent.
 */
public final class DnsNameResolver implements NameResolver, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DnsNameResolver.class);
  private static final int[] FAMILIES = {Type.A, Type.AAAA};

  private final LookupSession session;
  private final Clock clock;
  private final long queryTimeoutMillis;
  private final long ttlFloorMillis;
  private final long ttlCeilingMillis;
  private final long graceMillis;
  private final long retryMillis;
  private final ScheduledExecutorService scheduler;
  private final Executor executor;
  private final List<ExecutorService> owned;
  private final ConcurrentHashMap<HostName, CachedName> cache = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private DnsNameResolver(Builder builder, Resolver upstream) {
    this.clock = builder.clock;
    this.queryTimeoutMillis = builder.queryTimeout.toMillis();
    this.ttlFloorMillis = builder.ttlFloor.toMillis();
    this.ttlCeilingMillis = builder.ttlCeiling.toMillis();
    this.graceMillis = builder.grace.toMillis();
    this.retryMillis = builder.retryInterval.toMillis();
    List<ExecutorService> ownedServices = new ArrayList<>();
    ScheduledExecutorService chosenScheduler = builder.scheduler;
    if (chosenScheduler == null) {
      chosenScheduler = Executors.newScheduledThreadPool(1, daemonThreads("egress-dns-refresh"));
      ownedServices.add(chosenScheduler);
    }
    Executor chosenExecutor = builder.executor;
    if (chosenExecutor == null) {
      ExecutorService pool = Executors.newFixedThreadPool(2, daemonThreads("egress-dns"));
      ownedServices.add(pool);
      chosenExecutor = pool;
    }
    this.scheduler = chosenScheduler;
    this.executor = chosenExecutor;
    this.owned = List.copyOf(ownedServices);
    LookupSession.LookupSessionBuilder sessionBuilder =
        LookupSession.builder().resolver(upstream).executor(chosenExecutor).clearCaches();
    if (builder.hostsFile != null) {
      sessionBuilder.hostsFileParser(new HostsFileParser(builder.hostsFile));
    }
    this.session = sessionBuilder.build();
  }

  /** A builder with the defaults listed on each of its setters. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public Resolutions resolve(Set<HostName> names) throws InterruptedException {
    Objects.requireNonNull(names, "names");
    checkOpen();
    long now = clock.millis();
    Map<HostName, Set<InetAddress>> result = new HashMap<>();
    List<CompletableFuture<Void>> pending = new ArrayList<>();
    List<CachedName> awaited = new ArrayList<>();
    for (HostName name : names) {
      if (name.isWildcard()) {
        continue; // a wildcard has no addresses of its own; it needs DNS filtering
      }
      CachedName entry = cache.get(name);
      if (entry != null) {
        entry.lastUsedMillis = now;
        View view = entry.view;
        if (now < view.validUntil) {
          result.put(name, view.addresses);
          continue;
        }
      }
      entry = liveEntry(name);
      CompletableFuture<Void> inFlight;
      synchronized (entry) {
        entry.lastUsedMillis = now;
        inFlight = entry.inFlight;
        if (inFlight == null && now >= entry.nextQueryAt) {
          inFlight = startQuery(entry, now);
        }
      }
      if (inFlight == null) {
        result.put(name, entry.published(now, graceMillis));
      } else {
        pending.add(inFlight);
        awaited.add(entry);
      }
    }
    if (!pending.isEmpty()) {
      try {
        CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
            .get(queryTimeoutMillis, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        log.debug(
            "resolve: answers still missing after {} ms; using what is known", queryTimeoutMillis);
      } catch (ExecutionException e) {
        throw new IllegalStateException("query completion failed unexpectedly", e.getCause());
      }
      long after = clock.millis();
      for (CachedName entry : awaited) {
        result.put(entry.name, entry.published(after, graceMillis));
      }
    }
    return new Resolutions(result);
  }

  @Override
  public Subscription subscribe(Set<HostName> names, Listener listener) {
    Objects.requireNonNull(names, "names");
    Objects.requireNonNull(listener, "listener");
    checkOpen();
    Set<HostName> resolvable =
        names.stream().filter(name -> !name.isWildcard()).collect(Collectors.toUnmodifiableSet());
    Watch watch = new Watch(resolvable, listener);
    long now = clock.millis();
    for (HostName name : resolvable) {
      CachedName entry = liveEntry(name);
      synchronized (entry) {
        entry.watches.add(watch);
        if (entry.inFlight == null && entry.timer == null) {
          if (now >= entry.nextQueryAt) {
            var unused = startQuery(entry, now); // its answer reaches the watch as a change
          } else {
            scheduleNextEvent(entry, now);
          }
        }
      }
    }
    return watch;
  }

  /**
   * What the resolver knows about every cached name, sorted by name: addresses, expiry, last error
   * and grace. Does not block on lookups; safe to call at any time.
   */
  public List<NameStatus> status() {
    long now = clock.millis();
    List<NameStatus> statuses = new ArrayList<>();
    for (CachedName entry : cache.values()) {
      synchronized (entry) {
        statuses.add(entry.status(now, graceMillis));
      }
    }
    statuses.sort(Comparator.comparing(NameStatus::name));
    return List.copyOf(statuses);
  }

  /**
   * Stops refreshes and listener calls, forgets every name; idempotent. Lookups in flight are
   * abandoned.
   */
  @Override
  public void close() {
    closed = true;
    for (CachedName entry : cache.values()) {
      synchronized (entry) {
        entry.evicted = true;
        if (entry.timer != null) {
          entry.timer.cancel(false);
          entry.timer = null;
        }
      }
    }
    cache.clear();
    owned.forEach(ExecutorService::shutdownNow);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this DnsNameResolver is closed; build a new one");
    }
  }

  /** The cached entry of {@code name}, created if absent, never one that was evicted. */
  private CachedName liveEntry(HostName name) {
    while (true) {
      CachedName entry = cache.computeIfAbsent(name, n -> new CachedName(n, absoluteName(n)));
      synchronized (entry) {
        if (!entry.evicted) {
          return entry;
        }
      }
      cache.remove(name, entry);
    }
  }

  private static Name absoluteName(HostName name) {
    try {
      return Name.fromString(name.ascii() + ".");
    } catch (TextParseException e) {
      throw new IllegalArgumentException(
          "'" + name + "' is not a valid DNS name: " + e.getMessage(), e);
    }
  }

  /** Starts the A and AAAA queries of {@code entry}; the caller holds its lock. */
  private CompletableFuture<Void> startQuery(CachedName entry, long now) {
    entry.lastQueryStartedAt = now;
    if (entry.timer != null) {
      entry.timer.cancel(false);
      entry.timer = null;
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    entry.inFlight = done;
    List<CompletableFuture<Answer>> answers = new ArrayList<>(FAMILIES.length);
    for (int type : FAMILIES) {
      answers.add(query(entry.dnsName, type));
    }
    var unused =
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
            .whenComplete(
                (ignored, error) -> {
                  try {
                    complete(entry, answers.get(0).join(), answers.get(1).join());
                  } catch (RuntimeException e) {
                    log.error(
                        "egress-dns: internal error completing the lookup of {}", entry.name, e);
                    synchronized (entry) {
                      entry.inFlight = null;
                      long failedAt = clock.millis();
                      entry.nextQueryAt = failedAt + retryMillis;
                      scheduleNextEvent(entry, failedAt);
                    }
                  } finally {
                    done.complete(null);
                  }
                });
    return done;
  }

  /** One family's lookup; never completes exceptionally. */
  private CompletableFuture<Answer> query(Name name, int type) {
    CompletableFuture<LookupResult> lookup;
    try {
      lookup = session.lookupAsync(name, type).toCompletableFuture();
    } catch (RuntimeException e) {
      lookup = CompletableFuture.failedFuture(e);
    }
    return lookup
        .orTimeout(queryTimeoutMillis, TimeUnit.MILLISECONDS)
        .handle((result, error) -> error == null ? found(name, result, type) : failed(error, type));
  }

  private Answer found(Name name, LookupResult result, int type) {
    Set<InetAddress> addresses = new HashSet<>();
    long minTtl = Long.MAX_VALUE;
    for (Record record : result.getRecords()) {
      if (record.getType() != type
          || !(record instanceof ARecord || record instanceof AAAARecord)) {
        continue;
      }
      // The raw rdata: AAAARecord.getAddress() would turn an IPv4-mapped address into IPv4.
      byte[] raw = record.rdataToWireCanonical();
      Optional<UnusableAddress> unusable = UnusableAddress.classify(raw);
      if (unusable.isPresent()) {
        log.warn(
            "egress-dns: ignoring the unusable address {} in the {} answer for {}: {}",
            record.rdataToString(),
            Type.string(type),
            name,
            unusable.get().describe());
        continue;
      }
      addresses.add(IpAddresses.fromBytes(raw)); // without the host name dnsjava attaches
      minTtl = Math.min(minTtl, record.getTTL());
    }
    return new Answer(Set.copyOf(addresses), addresses.isEmpty() ? 0 : minTtl, null);
  }

  private Answer failed(Throwable error, int type) {
    Throwable cause = unwrap(error);
    if (cause instanceof NoSuchRRSetException) {
      return new Answer(Set.of(), 0, null); // NODATA: the name has no record of this type
    }
    FailureKind kind = classify(cause);
    String detail = Type.string(type) + ": " + describe(cause);
    return new Answer(Set.of(), 0, new LookupError(kind, detail, clock.instant()));
  }

  private static Throwable unwrap(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof java.util.concurrent.CompletionException
            || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  static FailureKind classify(Throwable cause) {
    if (cause instanceof DnssecBogusException) {
      return FailureKind.DNSSEC_BOGUS;
    }
    if (cause instanceof NoSuchDomainException) {
      return FailureKind.NXDOMAIN;
    }
    if (cause instanceof ServerFailedException) {
      return FailureKind.SERVFAIL;
    }
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof TimeoutException || t instanceof SocketTimeoutException) {
        return FailureKind.TIMEOUT;
      }
      String message = t.getMessage();
      if (t instanceof IOException && message != null && message.contains("timed out")) {
        return FailureKind.TIMEOUT;
      }
    }
    if (cause instanceof IOException || cause instanceof UncheckedIOException) {
      return FailureKind.NETWORK_ERROR;
    }
    return FailureKind.UNUSABLE_ANSWER;
  }

  private static String describe(Throwable cause) {
    String message = cause.getMessage();
    return message == null
        ? cause.getClass().getSimpleName()
        : cause.getClass().getSimpleName() + ": " + message;
  }

  /** Applies the answers of one query to {@code entry}, tells subscribers about a change. */
  private void complete(CachedName entry, Answer v4, Answer v6) {
    long now = clock.millis();
    Notification notification;
    synchronized (entry) {
      entry.inFlight = null;
      if (entry.evicted) {
        return;
      }
      boolean allEmpty =
          v4.error == null && v6.error == null && v4.addresses.isEmpty() && v6.addresses.isEmpty();
      if (allEmpty) {
        LookupError empty =
            new LookupError(
                FailureKind.EMPTY_ANSWER, "neither A nor AAAA records", clock.instant());
        v4 = new Answer(Set.of(), 0, empty);
        v6 = v4;
      }
      boolean failed = v4.error != null || v6.error != null;
      entry.v4.apply(v4, now, this::clampTtl);
      entry.v6.apply(v6, now, this::clampTtl);
      entry.lastError = v4.error != null ? v4.error : v6.error;
      if (failed) {
        entry.nextQueryAt = now + retryMillis;
        Set<InetAddress> kept = entry.published(now, graceMillis);
        log.warn(
            "egress-dns: lookup of {} failed ({}); {}",
            entry.name,
            entry.lastError,
            kept.isEmpty()
                ? "it has no addresses"
                : "keeping its last known addresses "
                    + format(kept)
                    + " until at most "
                    + entry.graceEnds(graceMillis));
      } else {
        entry.nextQueryAt = entry.earliestExpiry();
      }
      notification = publish(entry, now);
      scheduleNextEvent(entry, now);
    }
    deliver(notification);
  }

  private long clampTtl(long ttlSeconds) {
    long millis = ttlSeconds >= Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : ttlSeconds * 1000;
    return Math.max(ttlFloorMillis, Math.min(ttlCeilingMillis, millis));
  }

  /** Recomputes the published view; the caller holds the lock. */
  private @Nullable Notification publish(CachedName entry, long now) {
    Set<InetAddress> current = entry.published(now, graceMillis);
    entry.view =
        new View(current, Math.min(entry.nextQueryAt, entry.publishedChangesAt(now, graceMillis)));
    if (current.equals(entry.notified)) {
      return null;
    }
    if (current.isEmpty() && !entry.notified.isEmpty()) {
      log.warn("egress-dns: {} now has no addresses (was {})", entry.name, format(entry.notified));
    } else {
      log.info("egress-dns: {} now resolves to {}", entry.name, format(current));
    }
    entry.notified = current;
    return entry.watches.isEmpty()
        ? null
        : new Notification(entry.name, List.copyOf(entry.watches));
  }

  /** Arms the entry's timer for its next query or grace end; the caller holds the lock. */
  private void scheduleNextEvent(CachedName entry, long now) {
    if (closed || entry.evicted || entry.inFlight != null) {
      return;
    }
    if (entry.timer != null) {
      entry.timer.cancel(false);
    }
    long due = Math.min(entry.nextQueryAt, entry.publishedChangesAt(now, graceMillis));
    long delay = Math.max(0, due - now);
    try {
      entry.timer = scheduler.schedule(() -> onTimer(entry), delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      entry.timer = null; // the scheduler was shut down: no more refreshes
    }
  }

  private void onTimer(CachedName entry) {
    long now = clock.millis();
    Notification notification;
    synchronized (entry) {
      entry.timer = null;
      if (closed || entry.evicted || entry.inFlight != null) {
        return;
      }
      notification = publish(entry, now);
      if (now >= entry.nextQueryAt) {
        boolean idle = entry.watches.isEmpty() && entry.lastUsedMillis <= entry.lastQueryStartedAt;
        if (idle) {
          entry.evicted = true;
          cache.remove(entry.name, entry);
          log.debug("egress-dns: {} unused for a TTL period; forgotten", entry.name);
        } else {
          var unused = startQuery(entry, now); // completion re-arms the timer
        }
      } else {
        scheduleNextEvent(entry, now);
      }
    }
    deliver(notification);
  }

  private void deliver(@Nullable Notification notification) {
    if (notification == null) {
      return;
    }
    for (Watch watch : notification.watches) {
      watch.changed(notification.name);
    }
  }

  private Resolutions currentOf(Set<HostName> names) {
    long now = clock.millis();
    Map<HostName, Set<InetAddress>> current = new HashMap<>();
    for (HostName name : names) {
      CachedName entry = cache.get(name);
      if (entry != null) {
        current.put(name, entry.published(now, graceMillis));
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

  private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** One family's answer: addresses and their smallest TTL in seconds, or an error. */
  private record Answer(Set<InetAddress> addresses, long ttlSeconds, @Nullable LookupError error) {}

  /** What {@link #resolve} reads without locking: the published set and until when it holds. */
  private record View(Set<InetAddress> addresses, long validUntil) {}

  private record Notification(HostName name, List<Watch> watches) {}

  /** One address family's last good addresses. Guarded by the owning entry's lock. */
  private static final class Family {
    Set<InetAddress> addresses = Set.of();
    long validUntil;

    void apply(Answer answer, long now, java.util.function.LongUnaryOperator clamp) {
      if (answer.error != null) {
        return; // keep the last good addresses; grace is counted from their expiry
      }
      addresses = answer.addresses;
      validUntil = addresses.isEmpty() ? now : now + clamp.applyAsLong(answer.ttlSeconds);
    }

    Set<InetAddress> published(long now, long grace) {
      return !addresses.isEmpty() && now < saturatedAdd(validUntil, grace) ? addresses : Set.of();
    }
  }

  /** A cached name. Mutable fields are guarded by {@code this}, except the volatile ones. */
  private static final class CachedName {
    final HostName name;
    final Name dnsName;
    final Family v4 = new Family();
    final Family v6 = new Family();
    final List<Watch> watches = new ArrayList<>();
    volatile View view = new View(Set.of(), Long.MIN_VALUE);
    volatile long lastUsedMillis = Long.MIN_VALUE;
    long nextQueryAt = Long.MIN_VALUE;
    long lastQueryStartedAt = Long.MIN_VALUE;
    @Nullable LookupError lastError;
    @Nullable CompletableFuture<Void> inFlight;
    @Nullable ScheduledFuture<?> timer;
    Set<InetAddress> notified = Set.of();
    boolean evicted;

    CachedName(HostName name, Name dnsName) {
      this.name = name;
      this.dnsName = dnsName;
    }

    synchronized Set<InetAddress> published(long now, long grace) {
      Set<InetAddress> a = v4.published(now, grace);
      Set<InetAddress> b = v6.published(now, grace);
      if (b.isEmpty()) {
        return a;
      }
      if (a.isEmpty()) {
        return b;
      }
      Set<InetAddress> union = new HashSet<>(a);
      union.addAll(b);
      return Set.copyOf(union);
    }

    /** When the published set next changes by the passing of time alone (a grace end). */
    long publishedChangesAt(long now, long grace) {
      long at = Long.MAX_VALUE;
      for (Family family : List.of(v4, v6)) {
        long end = saturatedAdd(family.validUntil, grace);
        if (!family.addresses.isEmpty() && end > now) {
          at = Math.min(at, end);
        }
      }
      return at;
    }

    long earliestExpiry() {
      long at = Long.MAX_VALUE;
      for (Family family : List.of(v4, v6)) {
        if (!family.addresses.isEmpty()) {
          at = Math.min(at, family.validUntil);
        }
      }
      return at;
    }

    @Nullable Instant graceEnds(long grace) {
      long end = Long.MIN_VALUE;
      for (Family family : List.of(v4, v6)) {
        if (!family.addresses.isEmpty()) {
          end = Math.max(end, saturatedAdd(family.validUntil, grace));
        }
      }
      return end == Long.MIN_VALUE ? null : Instant.ofEpochMilli(end);
    }

    NameStatus status(long now, long grace) {
      Set<InetAddress> addresses = published(now, grace);
      long expires = Long.MAX_VALUE;
      long graceEnd = Long.MIN_VALUE;
      for (Family family : List.of(v4, v6)) {
        if (family.published(now, grace).isEmpty()) {
          continue;
        }
        expires = Math.min(expires, family.validUntil);
        if (now >= family.validUntil) {
          graceEnd = Math.max(graceEnd, saturatedAdd(family.validUntil, grace));
        }
      }
      return new NameStatus(
          name,
          addresses,
          expires == Long.MAX_VALUE ? null : Instant.ofEpochMilli(expires),
          lastError,
          graceEnd == Long.MIN_VALUE ? null : Instant.ofEpochMilli(graceEnd),
          watches.size());
    }
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : sum;
  }

  /**
   * A subscription: its listener gets the names' current resolutions when some of them change.
   * Changes that arrive while a call is pending are merged into that call.
   */
  private final class Watch implements Subscription {
    private final Set<HostName> names;
    private final Listener listener;
    private final Set<HostName> pending = new HashSet<>(); // guarded by itself
    private boolean drainScheduled; // guarded by pending
    private volatile boolean cancelled;

    Watch(Set<HostName> names, Listener listener) {
      this.names = names;
      this.listener = listener;
    }

    void changed(HostName name) {
      synchronized (pending) {
        pending.add(name);
        if (drainScheduled) {
          return;
        }
        drainScheduled = true;
      }
      try {
        executor.execute(this::drain);
      } catch (RejectedExecutionException e) {
        log.debug("egress-dns: executor stopped; change of {} not delivered", name);
        synchronized (pending) {
          drainScheduled = false;
        }
      }
    }

    private synchronized void drain() {
      Set<HostName> changed;
      synchronized (pending) {
        changed = Set.copyOf(pending);
        pending.clear();
        drainScheduled = false;
      }
      if (changed.isEmpty() || cancelled || closed) {
        return;
      }
      try {
        listener.onChange(currentOf(names), changed);
      } catch (RuntimeException e) {
        log.error("egress-dns: a listener failed on the change of {}", changed, e);
      }
    }

    @Override
    public void close() {
      cancelled = true;
      for (HostName name : names) {
        CachedName entry = cache.get(name);
        if (entry != null) {
          synchronized (entry) {
            entry.watches.remove(this);
          }
        }
      }
    }
  }

  /**
   * Builds a {@link DnsNameResolver}; every setter checks its argument at once. Not thread-safe.
   */
  public static final class Builder {
    private @Nullable List<InetSocketAddress> servers;
    private @Nullable Resolver upstream;
    private Duration queryTimeout = Duration.ofSeconds(3);
    private Duration ttlFloor = Duration.ofSeconds(10);
    private Duration ttlCeiling = Duration.ofHours(1);
    private Duration grace = Duration.ofMinutes(5);
    private Duration retryInterval = Duration.ofSeconds(5);
    private Clock clock = Clock.systemUTC();
    private @Nullable ScheduledExecutorService scheduler;
    private @Nullable Executor executor;
    private java.nio.file.@Nullable Path hostsFile;
    private @Nullable String trustAnchors;

    private Builder() {}

    /**
     * The upstream DNS servers, tried in turn. Default: the system's servers (resolv.conf and the
     * like), read once by {@link #build()}.
     */
    public Builder servers(List<InetSocketAddress> servers) {
      if (servers.isEmpty()) {
        throw new IllegalArgumentException("at least one upstream DNS server is needed");
      }
      this.servers = List.copyOf(servers);
      return this;
    }

    /**
     * A dnsjava resolver to send the queries to instead of {@link #servers} (tests, DoH, TSIG). Its
     * timeout is set to the query timeout.
     */
    public Builder upstream(Resolver upstream) {
      this.upstream = Objects.requireNonNull(upstream, "upstream");
      return this;
    }

    /** How long one query, and so {@link DnsNameResolver#resolve}, may take. Default 3 s. */
    public Builder queryTimeout(Duration timeout) {
      this.queryTimeout = positive(timeout, "query timeout");
      return this;
    }

    /** The shortest time an answer is kept, however small its TTL. Default 10 s. */
    public Builder ttlFloor(Duration floor) {
      this.ttlFloor = positive(floor, "TTL floor");
      return this;
    }

    /** The longest time an answer is kept before it is asked again. Default 1 h. */
    public Builder ttlCeiling(Duration ceiling) {
      this.ttlCeiling = positive(ceiling, "TTL ceiling");
      return this;
    }

    /**
     * How long after its expiry a name keeps its last good addresses while lookups fail. Default 5
     * min.
     */
    public Builder grace(Duration grace) {
      if (grace.isNegative()) {
        throw new IllegalArgumentException("grace must not be negative: " + grace);
      }
      this.grace = grace;
      return this;
    }

    /** How soon a failed lookup is tried again. Default 5 s. */
    public Builder retryInterval(Duration interval) {
      this.retryInterval = positive(interval, "retry interval");
      return this;
    }

    /** The clock that TTLs and grace are measured on. Default the system UTC clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Where refresh timers run; the caller keeps ownership (close does not shut it down). Default:
     * a daemon thread owned by the resolver.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Where lookups complete and listeners run; the caller keeps ownership. Must not run tasks on
     * the submitting thread. Default: two daemon threads owned by the resolver.
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Answer names from this hosts file first. Default: no hosts file. */
    public Builder hostsFile(java.nio.file.Path hostsFile) {
      this.hostsFile = Objects.requireNonNull(hostsFile, "hostsFile");
      return this;
    }

    /**
     * Turns on DNSSEC validation with these trust anchors (DS or DNSKEY records in master-file
     * format, such as the root zone's KSK from https://data.iana.org/root-anchors/). A bogus answer
     * then counts as a failure ({@link FailureKind#DNSSEC_BOGUS}); unsigned zones below no anchor
     * still resolve. Default: off.
     */
    public Builder dnssecTrustAnchors(String trustAnchors) {
      if (trustAnchors.isBlank()) {
        throw new IllegalArgumentException(
            "DNSSEC validation needs at least one trust anchor (a DS or DNSKEY record)");
      }
      this.trustAnchors = trustAnchors;
      return this;
    }

    /**
     * Builds the resolver.
     *
     * @throws IllegalStateException if the TTL floor exceeds the ceiling, if no upstream was set
     *     and the system has no DNS server, or if the trust anchors do not parse
     */
    public DnsNameResolver build() {
      if (ttlFloor.compareTo(ttlCeiling) > 0) {
        throw new IllegalStateException(
            "TTL floor " + ttlFloor + " is above TTL ceiling " + ttlCeiling + "; lower the floor");
      }
      Resolver chosen;
      if (upstream != null) {
        chosen = upstream;
        chosen.setTimeout(queryTimeout);
      } else {
        chosen = resolverFor(serversOrSystem(), queryTimeout);
      }
      if (trustAnchors != null) {
        ValidatingResolver validating = new ValidatingResolver(chosen, clock);
        try (InputStream anchors =
            new java.io.ByteArrayInputStream(
                trustAnchors.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
          validating.loadTrustAnchors(anchors);
        } catch (IOException e) {
          throw new IllegalStateException(
              "DNSSEC trust anchors do not parse: " + e.getMessage(), e);
        }
        validating.setTimeout(queryTimeout);
        chosen = new BogusAsFailure(validating);
      }
      return new DnsNameResolver(this, chosen);
    }

    private List<InetSocketAddress> serversOrSystem() {
      if (servers != null) {
        return servers;
      }
      List<InetSocketAddress> system = ResolverConfig.getCurrentConfig().servers();
      if (system.isEmpty()) {
        throw new IllegalStateException(
            "the system has no DNS server configured; name upstream servers with servers(...)");
      }
      return List.copyOf(system);
    }

    /**
     * One server: a simple resolver with the whole timeout. Several: tried in turn, one attempt
     * each, with an equal share of the timeout, so that all are tried within it.
     */
    private static Resolver resolverFor(List<InetSocketAddress> servers, Duration timeout) {
      if (servers.size() == 1) {
        SimpleResolver single = new SimpleResolver(servers.get(0));
        single.setTimeout(timeout);
        return single;
      }
      List<Resolver> resolvers = new ArrayList<>();
      servers.forEach(server -> resolvers.add(new SimpleResolver(server)));
      ExtendedResolver extended = new ExtendedResolver(resolvers);
      extended.setRetries(1);
      extended.setTimeout(timeout); // the whole query; dnsjava 3.6 sets no server's timeout here
      Duration share = timeout.dividedBy(servers.size());
      for (Resolver server : extended.getResolvers()) {
        server.setTimeout(share);
      }
      return extended;
    }

    private static Duration positive(Duration duration, String what) {
      if (duration.isNegative() || duration.isZero()) {
        throw new IllegalArgumentException(what + " must be positive: " + duration);
      }
      return duration;
    }
  }
}
