package dev.egress.micrometer;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.policy.EgressPolicy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;

/**
 * An enforcer's work as Micrometer meters:
 *
 * <ul>
 *   <li>{@code egress.traffic.packets} and {@code egress.traffic.bytes}, gauges tagged {@code
 *       container} and {@code verdict} ({@code allowed}, {@code refused}): the container's {@link
 *       EgressEnforcer#counters() traffic counters}, which start again from zero when its rules are
 *       loaded again (so gauges, not counters);
 *   <li>{@code egress.attachments}, a gauge: how many containers the last counters read listed;
 *   <li>{@code egress.attach} and {@code egress.reconcile}, timers tagged {@code result} ({@code
 *       ok}, {@code failed}): how long {@link EgressEnforcer#attach} and {@link
 *       EgressEnforcer#reconcile} took through the enforcer {@link #bind} returns;
 *   <li>{@code egress.events}, counters tagged {@code type}, the event's kind in kebab case ({@code
 *       attached}, {@code updated}, {@code addresses-refreshed}, {@code detached}, {@code
 *       drift-detected}, {@code failed}, {@code dns-queried}, {@code wildcard-burst}): the events
 *       given to {@link #listener()}. A name's refresh is counted, not timed: the enforcer reports
 *       that its rules followed a change, not when the change began.
 * </ul>
 *
 * <p>Reading the counters blocks on the kernel, so one read serves every gauge for {@code maxAge}
 * (a registry's scrape reads many gauges at once). The gauges follow the containers the reads list:
 * a new container's gauges are registered at the first read that lists it, and a gone container's
 * are removed at the first that does not. A failed read leaves the gauges at NaN until one
 * succeeds.
 *
 * <pre>{@code
 * EgressMeters meters = new EgressMeters(registry, Duration.ofSeconds(5), Clock.systemUTC());
 * EgressEnforcer enforcer =
 *     meters.bind(NftEgressEnforcer.builder().resolver(resolver).listener(meters.listener()).build());
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class EgressMeters {
  private final MeterRegistry registry;
  private final Duration maxAge;
  private final Clock clock;
  // Not under this object's lock: a scrape holds it for a whole counters() read (an nft listing),
  // and the listener runs inside attach and detach.
  private final Map<String, Counter> events = new ConcurrentHashMap<>();
  private final Map<ContainerId, List<Meter>> gauges = new HashMap<>();
  private @Nullable EgressEnforcer enforcer;
  private @Nullable Map<ContainerId, TrafficCounters> lastRead;
  private @Nullable Instant readAt;

  /**
   * @param maxAge how long one read of the counters serves the gauges, at least zero
   * @param clock tells the read's age
   */
  public EgressMeters(MeterRegistry registry, Duration maxAge, Clock clock) {
    if (maxAge.isNegative()) {
      throw new IllegalArgumentException("maxAge must be at least zero, got " + maxAge);
    }
    this.registry = Objects.requireNonNull(registry, "registry");
    this.maxAge = maxAge;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Counts each event by its type; give it to the enforcer's builder. Quick; never throws. */
  public EgressListener listener() {
    return event -> eventCounter(typeOf(event)).increment();
  }

  /**
   * Registers the gauges of {@code enforcer}'s counters and returns it with {@code attach} and
   * {@code reconcile} timed; every other call goes straight to it. Use the returned enforcer where
   * the timings should count.
   *
   * @throws IllegalStateException if these meters are bound already
   */
  public synchronized EgressEnforcer bind(EgressEnforcer enforcer) {
    Objects.requireNonNull(enforcer, "enforcer");
    if (this.enforcer != null) {
      throw new IllegalStateException("these meters are bound to an enforcer already");
    }
    this.enforcer = enforcer;
    Gauge.builder("egress.attachments", this, meters -> meters.read().size())
        .description("containers whose traffic counters the last read listed")
        .register(registry);
    return new Timed(enforcer);
  }

  private Counter eventCounter(String type) {
    return events.computeIfAbsent(
        type,
        t ->
            Counter.builder("egress.events")
                .tag("type", t)
                .description("events the enforcer reported")
                .register(registry));
  }

  /** The event's kind in kebab case: {@code AddressesRefreshed} is {@code addresses-refreshed}. */
  private static String typeOf(EgressEvent event) {
    return event
        .getClass()
        .getSimpleName()
        .replaceAll("([a-z])([A-Z])", "$1-$2")
        .toLowerCase(Locale.ROOT);
  }

  /**
   * The counters, read again when the last read is older than {@code maxAge}; the gauges follow the
   * containers it lists. Empty when the read failed.
   */
  private synchronized Map<ContainerId, TrafficCounters> read() {
    Instant now = clock.instant();
    if (lastRead != null && readAt != null && !now.isAfter(readAt.plus(maxAge))) {
      return lastRead;
    }
    Map<ContainerId, TrafficCounters> read;
    try {
      read = Objects.requireNonNull(enforcer, "bound").counters();
    } catch (EgressException | IllegalStateException e) {
      read = null;
    }
    lastRead = read;
    readAt = now;
    followContainers(read == null ? Set.of() : read.keySet());
    return read == null ? Map.of() : read;
  }

  private void followContainers(Set<ContainerId> listed) {
    for (ContainerId gone : new ArrayList<>(gauges.keySet())) {
      if (!listed.contains(gone)) {
        gauges.remove(gone).forEach(registry::remove);
      }
    }
    for (ContainerId id : listed) {
      gauges.computeIfAbsent(
          id,
          c ->
              List.of(
                  gauge("egress.traffic.packets", c, "allowed", TrafficCounters::allowedPackets),
                  gauge("egress.traffic.bytes", c, "allowed", TrafficCounters::allowedBytes),
                  gauge("egress.traffic.packets", c, "refused", TrafficCounters::refusedPackets),
                  gauge("egress.traffic.bytes", c, "refused", TrafficCounters::refusedBytes)));
    }
  }

  private Meter gauge(
      String name, ContainerId id, String verdict, ToLongFunction<TrafficCounters> count) {
    return Gauge.builder(name, this, meters -> meters.countOf(id, count))
        .tag("container", id.value())
        .tag("verdict", verdict)
        .description("what the container's rules counted since they were last loaded")
        .register(registry);
  }

  /** NaN when the last read failed or did not list {@code id}. */
  private double countOf(ContainerId id, ToLongFunction<TrafficCounters> count) {
    @Nullable TrafficCounters counters = read().get(id);
    return counters == null ? Double.NaN : count.applyAsLong(counters);
  }

  /** The bound enforcer with attach and reconcile timed. */
  private final class Timed implements EgressEnforcer {
    private final EgressEnforcer enforcer;

    Timed(EgressEnforcer enforcer) {
      this.enforcer = enforcer;
    }

    @Override
    public Attachment attach(ContainerEndpoint container, EgressPolicy policy)
        throws EgressException {
      long start = System.nanoTime();
      String result = "failed";
      try {
        Attachment attachment = enforcer.attach(container, policy);
        result = "ok";
        return attachment;
      } finally {
        timer("egress.attach", result).record(Duration.ofNanos(System.nanoTime() - start));
      }
    }

    @Override
    public ReconcileResult reconcile(Set<ContainerId> liveContainerIds) throws EgressException {
      long start = System.nanoTime();
      String result = "failed";
      try {
        ReconcileResult reconciled = enforcer.reconcile(liveContainerIds);
        result = "ok";
        return reconciled;
      } finally {
        timer("egress.reconcile", result).record(Duration.ofNanos(System.nanoTime() - start));
      }
    }

    private Timer timer(String name, String result) {
      return Timer.builder(name).tag("result", result).register(registry);
    }

    @Override
    public List<Attachment> attachments() {
      return enforcer.attachments();
    }

    @Override
    public Optional<InetAddress> dnsFilter() {
      return enforcer.dnsFilter();
    }

    @Override
    public Map<ContainerId, TrafficCounters> counters() throws EgressException {
      return enforcer.counters();
    }

    @Override
    public void close() {
      enforcer.close();
    }
  }
}
