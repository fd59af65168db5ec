package dev.egress.dns;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.lookup.LookupSession;

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
 * <p><b>Answers and failures.</b> An answer replaces what a family held at once: other addresses,
 * none of the family (NODATA, or only {@link UnusableAddress unusable} ones), NXDOMAIN, neither A
 * nor AAAA, or REFUSED from every server; {@link FailureKind#graceApplies()} says which failure
 * kinds count as answers. A failure to get an answer (a timeout, SERVFAIL, a network error, a bogus
 * DNSSEC answer, another error code) keeps the addresses the family last had until {@code expiry +
 * grace} (logged and shown in {@link #status()}), then drops them; the lookup is retried every
 * {@link Builder#retryInterval retry interval} meanwhile. Nothing ever maps to "any": a name that
 * never resolved contributes no address.
 *
 * <p><b>How long an address can outlive its record.</b> Let {@code t} be when the last answer that
 * contained an address arrived and {@code T} that answer's smallest TTL of the family clamped to
 * [floor, ceiling]. While the name is in use it is asked again by {@code t + T} (unused, it is
 * forgotten then). The address is published until the first answer without it arrives, and never
 * after {@code t + T + grace}, whatever the upstream does; subscribers are told when it goes. So
 * when the upstream answers the refresh, it goes by {@code t + T + queryTimeout}. A recursive
 * upstream may repeat a removed record from its own cache for up to the record's TTL: {@code t} is
 * the last time the upstream answered with the address. With the defaults (floor 10 s, ceiling 1 h,
 * query timeout 3 s, grace 5 min) and a TTL of 5 s: 13 s when the upstream answers, 5 min 10 s at
 * most.
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
 * waits for a name that is already known and fresh). Lookups complete on the thread that received
 * their answer (on the {@link Builder#executor executor} when validating DNSSEC); listeners run on
 * the executor; refresh timers and query timeouts run on the {@link Builder#scheduler scheduler}.
 * {@link #close()} stops refreshes and listeners and is idempotent.
 *
 * <p><b>Inside.</b> This class is the configuration and the public face. The per-name state machine
 * is {@link AnswerCache} (clock-driven, no dnsjava), the queries go through {@link DnsjavaUpstream}
 * (over UDP through {@link DirectUdpResolver} to the servers set here), and {@link Subscribers}
 * delivers every change notification.
 */
public final class DnsNameResolver implements NameResolver, AutoCloseable {
  private final AnswerCache cache;
  private final List<ExecutorService> owned;
  private final @Nullable DirectUdpClient transport;

  /**
   * @param transport the UDP transport of the resolver's own servers, closed with it; null when the
   *     builder was given a resolver
   */
  private DnsNameResolver(
      Builder builder, Timings timings, Resolver resolver, @Nullable DirectUdpClient transport) {
    this.transport = transport;
    List<ExecutorService> ownedServices = new ArrayList<>();
    ScheduledExecutorService scheduler = builder.scheduler;
    if (scheduler == null) {
      scheduler = Executors.newScheduledThreadPool(1, daemonThreads("egress-dns-refresh"));
      ownedServices.add(scheduler);
    }
    Executor executor = builder.executor;
    if (executor == null) {
      ExecutorService pool = Executors.newFixedThreadPool(2, daemonThreads("egress-dns"));
      ownedServices.add(pool);
      executor = pool;
    }
    this.owned = List.copyOf(ownedServices);
    // A lookup completes on the thread that received its answer (the transport's receiving thread
    // for the resolver's own servers), not handed over to a pool thread first: one wake-up less
    // before a DNS filter can answer (issue 13). DNSSEC validation checks signatures, too much
    // work for that one thread: it keeps the pool.
    Executor completions = builder.trustAnchors == null ? Runnable::run : executor;
    DnsjavaUpstream upstream =
        new DnsjavaUpstream(resolver, completions, builder.hostsFile, builder.clock);
    this.cache = new AnswerCache(upstream, timings, builder.clock, scheduler, executor);
  }

  /** A builder with the defaults listed on each of its setters. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public Resolutions resolve(Set<HostName> names) throws InterruptedException {
    return cache.resolve(names);
  }

  @Override
  public Subscription subscribe(Set<HostName> names, Listener listener) {
    return cache.subscribe(names, listener);
  }

  /**
   * For a DNS filter: the fresh addresses of {@code family} of {@code name} with their clamped
   * expiry, or that it does not exist, or that the family's lookup failed (the other family's
   * failure does not matter). Shares the cache (and its in-flight queries) with {@link #resolve},
   * but returns as soon as the family's answer arrives, without waiting for the other family's;
   * blocks at most for the query timeout, twice that when the answer has outlived its TTL by the
   * time it is read (a TTL floor below the lookup's duration, a clock that jumped: the next
   * lookup's answer counts). Unlike {@link #resolve}, it never offers addresses kept in grace after
   * failed lookups.
   */
  public NameAnswer answer(HostName name, AddressFamily family) throws InterruptedException {
    if (name.isWildcard()) {
      throw new IllegalArgumentException(name + " is a wildcard; a query names one host");
    }
    return cache.answer(name, family);
  }

  /**
   * What the resolver knows about every cached name, sorted by name: addresses, expiry, last error
   * and grace. Does not block on lookups; safe to call at any time. A lookup's result shows once
   * the name's next query is scheduled.
   */
  public List<NameStatus> status() {
    return cache.status();
  }

  /**
   * Stops refreshes and listener calls, forgets every name; idempotent. Lookups in flight are
   * abandoned.
   */
  @Override
  public void close() {
    cache.close();
    owned.forEach(ExecutorService::shutdownNow);
    if (transport != null) {
      transport.close();
    }
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /**
   * Builds a {@link DnsNameResolver}; every setter checks its argument at once (durations are
   * positive, grace may be zero, none is above 100 years). Not thread-safe.
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
    private @Nullable Path hostsFile;
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
      this.queryTimeout = Timings.positive(timeout, "query timeout");
      return this;
    }

    /** The shortest time an answer is kept, however small its TTL. Default 10 s. */
    public Builder ttlFloor(Duration floor) {
      this.ttlFloor = Timings.positive(floor, "TTL floor");
      return this;
    }

    /** The longest time an answer is kept before it is asked again. Default 1 h. */
    public Builder ttlCeiling(Duration ceiling) {
      this.ttlCeiling = Timings.positive(ceiling, "TTL ceiling");
      return this;
    }

    /**
     * How long after its expiry an address family keeps its last good addresses while lookups fail
     * to get an answer ({@link FailureKind#graceApplies()}); an answer without them drops them at
     * once. Default 5 min.
     */
    public Builder grace(Duration grace) {
      this.grace = Timings.notNegative(grace, "grace");
      return this;
    }

    /** How soon a failed lookup is tried again. Default 5 s. */
    public Builder retryInterval(Duration interval) {
      this.retryInterval = Timings.positive(interval, "retry interval");
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
     * Where listeners run (and lookups complete when validating DNSSEC); the caller keeps
     * ownership. Must not run tasks on the submitting thread. Default: two daemon threads owned by
     * the resolver.
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Answer names from this hosts file first. Default: no hosts file. */
    public Builder hostsFile(Path hostsFile) {
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
     *     and the system has no DNS server, if the trust anchors do not parse, or if the UDP
     *     transport could not open its selector
     */
    public DnsNameResolver build() {
      if (ttlFloor.compareTo(ttlCeiling) > 0) {
        throw new IllegalStateException(
            "TTL floor " + ttlFloor + " is above TTL ceiling " + ttlCeiling + "; lower the floor");
      }
      Timings timings = new Timings(queryTimeout, ttlFloor, ttlCeiling, grace, retryInterval);
      if (upstream != null) {
        Resolver given = DnsjavaUpstream.forResolver(upstream, queryTimeout);
        return new DnsNameResolver(this, timings, validated(given), null);
      }
      List<InetSocketAddress> chosen = servers != null ? servers : DnsjavaUpstream.systemServers();
      DirectUdpClient transport;
      try {
        transport = DirectUdpClient.start();
      } catch (IOException e) {
        throw new IllegalStateException(
            "could not open the resolver's UDP transport (a selector): " + e.getMessage(), e);
      }
      try {
        Resolver resolver = DnsjavaUpstream.forServers(chosen, queryTimeout, transport);
        return new DnsNameResolver(this, timings, validated(resolver), transport);
      } catch (RuntimeException e) {
        transport.close();
        throw e;
      }
    }

    /** {@code resolver}, behind DNSSEC validation when trust anchors are set. */
    private Resolver validated(Resolver resolver) {
      return trustAnchors == null
          ? resolver
          : DnsjavaUpstream.validating(resolver, trustAnchors, queryTimeout, clock);
    }
  }
}
