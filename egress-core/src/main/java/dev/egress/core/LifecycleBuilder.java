package dev.egress.core;

import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.NameResolver;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import org.jspecify.annotations.Nullable;

/**
 * The collaborators every {@link RulesetEnforcer} takes, whatever its backend; the pf and nftables
 * enforcers' builders extend it and add their own. Only the resolver is required. Each setter
 * checks its argument at once.
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class LifecycleBuilder<B extends LifecycleBuilder<B>> {
  /** How often the health check runs unless told otherwise. */
  public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(30);

  @Nullable NameResolver resolver;
  EgressListener listener = EgressListener.NONE;
  Clock clock = Clock.systemUTC();
  @Nullable ScheduledExecutorService scheduler;
  Duration retryDelay = Duration.ofSeconds(5);
  Optional<Duration> healthInterval = Optional.of(DEFAULT_HEALTH_INTERVAL);
  @Nullable InetAddress dnsFilter;

  protected LifecycleBuilder() {}

  /** This builder, typed as the concrete builder. */
  protected abstract B self();

  /** How refusals name the enforcer, such as "the nftables enforcer". */
  protected String enforcerName() {
    return "the enforcer";
  }

  /** Resolves the policies' host names and reports their changes. Required. */
  public B resolver(NameResolver resolver) {
    this.resolver = Objects.requireNonNull(resolver, "resolver");
    return self();
  }

  /** Receives the audit events; by default none. */
  public B listener(EgressListener listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
    return self();
  }

  /** Stamps the events; the system clock by default. */
  public B clock(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    return self();
  }

  /**
   * Runs retries, refreshes and health checks. By default the enforcer starts one daemon thread of
   * its own and stops it on close; a given scheduler is not shut down by the enforcer.
   */
  public B scheduler(ScheduledExecutorService scheduler) {
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    return self();
  }

  /** How long to wait before retrying a failed removal or refresh; default 5 s. */
  public B retryDelay(Duration delay) {
    if (delay.isNegative() || delay.isZero()) {
      throw new IllegalArgumentException("retry delay must be positive, got " + delay);
    }
    this.retryDelay = delay;
    return self();
  }

  /**
   * How often to run {@link RulesetEnforcer#checkHealth}, which notices and repairs rule sets that
   * were deleted or altered; every {@link #DEFAULT_HEALTH_INTERVAL} (30 s) by default. To switch it
   * off, call {@link #noHealthChecks}.
   */
  public B healthInterval(Duration interval) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException(
          "health interval must be positive, got "
              + interval
              + ": to switch the periodic health check off, call noHealthChecks()");
    }
    this.healthInterval = Optional.of(interval);
    return self();
  }

  /**
   * Switches the periodic health check off: deleted or altered rule sets are then noticed only when
   * someone calls {@link RulesetEnforcer#checkHealth} or {@code reconcile}. For callers that run
   * the check on a schedule of their own (egressd does).
   */
  public B noHealthChecks() {
    this.healthInterval = Optional.empty();
    return self();
  }

  /**
   * The address where the host's DNS filter ({@code dev.egress.dns.filter.DnsFilter}) answers on
   * port 53. With it the enforcer accepts policies that need one ({@code dns filter}, wildcard host
   * names): their containers' port-53 traffic goes to the filter alone, and the enforcer is the
   * filter's {@link dev.egress.enforcer.FilteredAttachments}. Without it such policies are refused
   * with {@link dev.egress.enforcer.UnsupportedPolicyException}.
   */
  public B dnsFilter(InetAddress address) {
    this.dnsFilter = Objects.requireNonNull(address, "address");
    return self();
  }

  /**
   * {@code command} (a program and its leading arguments, given to a backend's setter), copied.
   *
   * @throws IllegalArgumentException if it is empty, naming {@code program}
   */
  protected static List<String> nonEmptyCommand(List<String> command, String program) {
    if (command.isEmpty()) {
      throw new IllegalArgumentException("the " + program + " command is empty");
    }
    return List.copyOf(command);
  }

  /** The DNS filter's address given to {@link #dnsFilter}, or null: for a backend that needs it. */
  protected @Nullable InetAddress configuredDnsFilter() {
    return dnsFilter;
  }

  /**
   * The resolver given to {@link #resolver}: for a backend that records its answers.
   *
   * @throws IllegalStateException if none was given
   */
  protected NameResolver requiredResolver() {
    NameResolver given = resolver;
    if (given == null) {
      throw new IllegalStateException(
          "an enforcer needs a resolver to turn host names into addresses: call resolver(...)");
    }
    return given;
  }

  /** The listener given to {@link #listener}: for a backend that hears the events first. */
  protected EgressListener configuredListener() {
    return listener;
  }

  /** The clock given to {@link #clock} (the system's by default): for a backend that needs it. */
  protected Clock configuredClock() {
    return clock;
  }

  /**
   * The lifecycle over {@code backend} with these collaborators.
   *
   * @throws IllegalStateException if no resolver was given
   */
  protected RulesetEnforcer buildLifecycle(FirewallBackend backend) {
    return buildLifecycle(backend, requiredResolver(), listener);
  }

  /**
   * The lifecycle over {@code backend} with these collaborators, but {@code resolver} and {@code
   * listener} in place of the given ones: for a backend that wraps those (an audit trail records
   * the answers and hears the events first). The builder keeps the given ones, so that each build
   * wraps them afresh and never wraps an earlier build's wrappers.
   */
  protected RulesetEnforcer buildLifecycle(
      FirewallBackend backend, NameResolver resolver, EgressListener listener) {
    return RulesetEnforcer.start(backend, this, resolver, listener);
  }
}
