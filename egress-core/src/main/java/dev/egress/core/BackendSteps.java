package dev.egress.core;

import dev.egress.core.AttachmentRegistry.Removal;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressEvent.Operation;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle's steps towards the outside, shared by {@link RulesetEnforcer} and each {@link
 * LiveAttachment}: preparing the host (once, again after a health check found it wanting), checking
 * a policy, resolving names, removing a registered rule set and retrying failed removals in the
 * background, and sending events. Its state is the host's prepared flag under its own lock; the
 * attachments' state is the {@link AttachmentRegistry}'s.
 */
final class BackendSteps {
  private static final Logger log = LoggerFactory.getLogger(BackendSteps.class);

  final FirewallBackend backend;
  final NameResolver resolver;
  final Clock clock;
  final ScheduledExecutorService scheduler;
  final Duration retryDelay;

  /** Where the DNS filter answers, or null when the enforcer has none. */
  final @Nullable InetAddress dnsFilter;

  /** How refusals name the enforcer. */
  private final String enforcerName;

  private final EgressListener listener;
  private final AttachmentRegistry<LiveAttachment> registry;

  /** Orders preparing the host and noting foreign rule sets, which both read the kernel once. */
  private final ReentrantLock prepareLock = new ReentrantLock();

  private volatile boolean prepared;

  BackendSteps(
      FirewallBackend backend,
      NameResolver resolver,
      EgressListener listener,
      Clock clock,
      ScheduledExecutorService scheduler,
      Duration retryDelay,
      @Nullable InetAddress dnsFilter,
      String enforcerName,
      AttachmentRegistry<LiveAttachment> registry) {
    this.backend = backend;
    this.resolver = resolver;
    this.listener = listener;
    this.clock = clock;
    this.scheduler = scheduler;
    this.retryDelay = retryDelay;
    this.dnsFilter = dnsFilter;
    this.enforcerName = enforcerName;
    this.registry = registry;
  }

  void checkPolicy(ContainerEndpoint container, EgressPolicy policy) throws EgressException {
    if (policy.requiresDnsFiltering() && dnsFilter == null) {
      throw UnsupportedPolicyException.withoutDnsFilter(enforcerName, policy);
    }
    backend.checkSupported(policy);
    if (policy.usesGateway() && container.gateway() == null) {
      throw new IllegalArgumentException(
          "the policy for "
              + container.id()
              + " uses the gateway, but its gateway is unknown:"
              + " attach with a ContainerEndpoint that names the gateway");
    }
  }

  Resolutions resolve(ContainerId id, Set<HostName> names) throws EgressException {
    if (names.isEmpty()) {
      return Resolutions.none();
    }
    try {
      return resolver.resolve(names);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new EgressException("interrupted while resolving " + names + " for " + id, e);
    }
  }

  void scheduleRetries() {
    if (registry.startRetries()) {
      scheduleRetry();
    }
  }

  private void scheduleRetry() {
    try {
      scheduler.schedule(this::retryInBackground, retryDelay.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      registry.retriesStopped();
      log.warn("cannot schedule removal retries: the scheduler is shut down");
    }
  }

  private void retryInBackground() {
    List<String> failures = new ArrayList<>();
    retryRemovals(failures);
    if (!registry.retriesOver()) {
      scheduleRetry();
    }
  }

  /** Retries every pending removal once; returns whose were removed, adds failures to the list. */
  Set<Subject.Removable> retryRemovals(List<String> failures) {
    Set<Subject.Removable> removed = new LinkedHashSet<>();
    registry
        .removals()
        .forEach(
            (name, removal) -> {
              try {
                retryRemoval(name, removal);
                removed.add(removal.subject);
              } catch (EgressException e) {
                failures.add(describe(e));
              }
            });
    return removed;
  }

  void retryRemoval(RuleSetName name, Removal removal) throws EgressException {
    if (removeRegistered(name, removal, Operation.REMOVE)) {
      emit(new EgressEvent.Detached(clock.instant(), removal.subject));
    }
  }

  /**
   * Removes a registered rule set and, on success, unregisters it and frees its addresses. One call
   * per removal runs at a time, and only while the removal is still registered: a retry that lost
   * the race to another one must not remove rules that an attach has loaded under the same name
   * since.
   *
   * @return whether this call removed it; false when another call already had
   * @throws EgressException if the backend failed; the removal stays registered
   */
  boolean removeRegistered(RuleSetName name, Removal removal, Operation operation)
      throws EgressException {
    removal.lock.lock();
    try {
      if (!registry.isCurrent(name, removal)) {
        return false;
      }
      try {
        backend.remove(name, removal.addresses);
      } catch (EgressException e) {
        emit(new EgressEvent.Failed(clock.instant(), removal.subject, operation, describe(e)));
        throw e;
      }
      registry.removed(name, removal);
      return true;
    } finally {
      removal.lock.unlock();
    }
  }

  /**
   * Before the first attach of a process that has not reconciled, notes the rule sets an earlier
   * process left installed (one read-back call, once).
   */
  void findForeignRuleSets() throws EgressException {
    if (registry.foreignChecked()) {
      return;
    }
    prepareLock.lock();
    try {
      if (!registry.foreignChecked()) {
        registry.noteForeign(backend.installed());
      }
    } finally {
      prepareLock.unlock();
    }
  }

  /** Prepares the host again, whether or not it was: after a health check found it wanting. */
  void prepareAgain() throws EgressException {
    prepared = false;
    ensurePrepared();
  }

  void ensurePrepared() throws EgressException {
    if (prepared) {
      return;
    }
    prepareLock.lock();
    try {
      if (!prepared) {
        backend.prepare();
        prepared = true;
      }
    } finally {
      prepareLock.unlock();
    }
  }

  void emit(EgressEvent event) {
    try {
      listener.onEvent(event);
    } catch (RuntimeException e) {
      log.warn("egress listener threw on {}", event, e);
    }
  }

  EgressEvent.Failed failed(ContainerId id, Operation operation, Exception e) {
    return new EgressEvent.Failed(clock.instant(), Subject.container(id), operation, describe(e));
  }

  static String describe(Exception e) {
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }
}
