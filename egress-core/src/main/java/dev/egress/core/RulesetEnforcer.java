package dev.egress.core;

import dev.egress.core.AttachmentRegistry.Removal;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressEvent.Operation;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link EgressEnforcer} lifecycle for any packet filter, written once: per-container ordering,
 * resolution and refresh of host names, fail-closed error handling, background retries of failed
 * removals, reconciliation after restarts, and drift checks. The packet filter itself is a {@link
 * FirewallBackend}.
 *
 * <p>Fail-closed rules it keeps:
 *
 * <ul>
 *   <li>A failed install of a new attachment is followed by a removal of whatever may have been
 *       loaded; if that fails too, the removal is retried in the background and the addresses stay
 *       reserved, so no other container can take them over meanwhile.
 *   <li>A failed update leaves the previous rule set (the backend installs atomically).
 *   <li>A failed detach keeps the rules (they only restrict), retries in the background, reports
 *       every failure, and keeps the addresses reserved until removal succeeds.
 *   <li>A failed refresh keeps the previous addresses and schedules a full reinstall.
 *   <li>Reconcile never removes the rules of a container that is still running, even one this
 *       process has not attached (yet): those rules restrict it until the launcher re-attaches.
 * </ul>
 */
public final class RulesetEnforcer implements EgressEnforcer {
  private static final Logger log = LoggerFactory.getLogger(RulesetEnforcer.class);

  private final FirewallBackend backend;
  private final NameResolver resolver;
  private final EgressListener listener;
  private final Clock clock;
  private final ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;
  private final Duration retryDelay;
  private final AttachmentRegistry<LiveAttachment> registry = new AttachmentRegistry<>();

  private final ReentrantLock prepareLock = new ReentrantLock();
  private volatile boolean prepared;

  private RulesetEnforcer(FirewallBackend backend, LifecycleBuilder<?> builder) {
    NameResolver given = builder.resolver;
    if (given == null) {
      throw new IllegalStateException(
          "an enforcer needs a resolver to turn host names into addresses: call resolver(...)");
    }
    this.backend = backend;
    this.resolver = given;
    this.listener = builder.listener;
    this.clock = builder.clock;
    this.retryDelay = builder.retryDelay;
    ScheduledExecutorService givenScheduler = builder.scheduler;
    this.ownsScheduler = givenScheduler == null;
    this.scheduler = givenScheduler != null ? givenScheduler : newDaemonScheduler();
  }

  /**
   * A started enforcer: constructed first, then its periodic health check scheduled, so that the
   * check never runs on a half-built object.
   */
  static RulesetEnforcer start(FirewallBackend backend, LifecycleBuilder<?> builder) {
    RulesetEnforcer enforcer = new RulesetEnforcer(backend, builder);
    builder.healthInterval.ifPresent(enforcer::scheduleHealthChecks);
    return enforcer;
  }

  private void scheduleHealthChecks(Duration interval) {
    long millis = interval.toMillis();
    scheduler.scheduleWithFixedDelay(
        this::healthCheckQuietly, millis, millis, TimeUnit.MILLISECONDS);
  }

  /** A builder for an enforcer over {@code backend}. */
  public static Builder builder(FirewallBackend backend) {
    return new Builder(backend);
  }

  @Override
  public Attachment attach(ContainerEndpoint container, EgressPolicy policy)
      throws EgressException {
    checkPolicy(container, policy);
    RuleSetName name = backend.ruleSetName(container.id());
    ensurePrepared();
    Optional<LiveAttachment> existing = registry.attachedAs(container);
    if (existing.isPresent()) {
      existing.get().update(policy);
      return existing.get();
    }
    findForeignRuleSets();
    registry.claimForeignOf(container, name);
    for (Map.Entry<RuleSetName, Removal> blocking :
        registry.removalsBlocking(container, name).entrySet()) {
      retryRemoval(blocking.getKey(), blocking.getValue());
    }
    LiveAttachment created = new LiveAttachment(name, container, policy);
    registry.reserve(created);
    created.lock.lock();
    try {
      try {
        created.install(policy);
      } catch (EgressException | RuntimeException e) {
        abandon(created);
        emit(failed(container.id(), Operation.ATTACH, e));
        throw e;
      }
      emit(new EgressEvent.Attached(clock.instant(), container, policy));
      return created;
    } finally {
      created.lock.unlock();
    }
  }

  @Override
  public List<Attachment> attachments() {
    return List.copyOf(registry.attachments());
  }

  /** One map lookup: the registry keeps who holds each address. */
  @Override
  public Optional<Attachment> attachmentHolding(InetAddress source) {
    return registry.holding(source).map(Attachment.class::cast);
  }

  /**
   * What {@link #attach} would load for {@code container} under {@code policy} now, and the command
   * that would load it, without loading anything: the same checks, the same name resolution
   * (through this enforcer's resolver, which it blocks for), the same plan. Runs no privileged call
   * and changes nothing; thread-safe.
   *
   * @throws UnsupportedPolicyException as {@link #attach} does
   * @throws IllegalArgumentException as {@link #attach} does
   * @throws EgressException if interrupted while resolving
   */
  public Preview preview(ContainerEndpoint container, EgressPolicy policy) throws EgressException {
    checkPolicy(container, policy);
    Resolutions resolutions = resolve(container.id(), policy.hostNames());
    return backend.preview(
        backend.ruleSetName(container.id()), EnforcementPlan.of(policy, container, resolutions));
  }

  @Override
  public ReconcileResult reconcile(Set<ContainerId> liveContainerIds) throws EgressException {
    registry.checkOpen();
    ensurePrepared(); // a launcher reconciles at start: the guard must be up before containers run
    registry.forgetForeign();
    Set<ContainerId> liveIds = Set.copyOf(liveContainerIds);
    List<String> failures = new ArrayList<>();
    Set<Subject.Removable> removed = new LinkedHashSet<>();
    Set<ContainerId> repaired = new LinkedHashSet<>();

    removed.addAll(retryRemovals(failures));
    for (Attachment attachment : attachments()) {
      if (!liveIds.contains(attachment.container().id())) {
        try {
          attachment.detach();
          removed.add(Subject.container(attachment.container().id()));
        } catch (EgressException e) {
          failures.add(describe(e));
        }
      }
    }

    Map<RuleSetName, List<InetAddress>> installed = backend.installed();
    Set<RuleSetName> keep = new HashSet<>();
    for (ContainerId id : liveIds) {
      keep.add(backend.ruleSetName(id));
    }
    for (Map.Entry<RuleSetName, List<InetAddress>> entry : installed.entrySet()) {
      RuleSetName name = entry.getKey();
      if (keep.contains(name)) {
        continue;
      }
      // Empty when an attach since the snapshot owns the name, or its removal is under way.
      Optional<Removal> removal = registry.queueOrphan(name, entry.getValue());
      if (removal.isEmpty()) {
        continue;
      }
      try {
        retryRemoval(name, removal.get());
        removed.add(removal.get().subject);
      } catch (EgressException e) {
        scheduleRetries();
        failures.add(describe(e));
      }
    }

    for (LiveAttachment attachment : registry.attachments()) {
      try {
        boolean reinstalled =
            installed.containsKey(attachment.name)
                ? attachment.repairIfDrifted()
                : attachment.reinstall();
        if (reinstalled) {
          repaired.add(attachment.container().id());
          emit(attachment.reinstalled());
        }
      } catch (EgressException e) {
        failures.add(describe(e));
      }
    }
    if (!failures.isEmpty()) {
      throw new EgressException(
          "reconcile did not finish: " + String.join("; ", failures),
          "failed removals are retried in the background; run reconcile again to retry the rest",
          null);
    }
    return new ReconcileResult(removed, repaired);
  }

  /**
   * Checks the host and every live attachment once: host problems are reported (and {@link
   * FirewallBackend#prepare} is re-run, which is safe), and attachments whose rules are missing or
   * altered are reinstalled. Each finding is also sent to the listener.
   *
   * @return the findings; empty when all is as installed
   */
  public List<EgressEvent.DriftDetected> checkHealth() {
    List<EgressEvent.DriftDetected> findings = new ArrayList<>();
    try {
      List<String> problems = backend.hostProblems();
      if (!problems.isEmpty()) {
        prepared = false;
        boolean repaired;
        try {
          ensurePrepared();
          repaired = backend.hostProblems().isEmpty();
        } catch (EgressException e) {
          repaired = false;
        }
        for (String problem : problems) {
          findings.add(
              new EgressEvent.DriftDetected(clock.instant(), Subject.host(), problem, repaired));
        }
      }
    } catch (EgressException e) {
      // What cannot be read may be missing: reload the hook (idempotent), report it unrepaired.
      prepared = false;
      try {
        ensurePrepared();
      } catch (EgressException again) {
        log.warn("cannot reload the parent hook: {}", describe(again));
      }
      findings.add(
          new EgressEvent.DriftDetected(
              clock.instant(), Subject.host(), "host check failed: " + describe(e), false));
    }
    for (LiveAttachment liveAttachment : registry.attachments()) {
      try {
        if (liveAttachment.repairIfDrifted()) {
          findings.add(liveAttachment.reinstalled());
        }
      } catch (EgressException e) {
        findings.add(
            new EgressEvent.DriftDetected(
                clock.instant(),
                Subject.container(liveAttachment.container().id()),
                "rule set "
                    + liveAttachment.name
                    + " is missing or altered and could not be"
                    + " reinstalled: "
                    + describe(e),
                false));
      }
    }
    findings.forEach(this::emit);
    return List.copyOf(findings);
  }

  /**
   * Whose removal is under way or failed and is being retried: containers attached here, and rules
   * found installed that no attachment owns. Their addresses stay reserved.
   */
  public Set<Subject.Removable> pendingRemovals() {
    return registry.removalSubjects();
  }

  @Override
  public void close() {
    if (!registry.close()) {
      return;
    }
    registry.attachments().forEach(LiveAttachment::stopRefreshing);
    if (ownsScheduler) {
      scheduler.shutdownNow();
    }
    backend.close();
  }

  private void checkPolicy(ContainerEndpoint container, EgressPolicy policy)
      throws EgressException {
    backend.checkSupported(policy);
    if (policy.usesGateway() && container.gateway() == null) {
      throw new IllegalArgumentException(
          "the policy for "
              + container.id()
              + " uses the gateway, but its gateway is unknown:"
              + " attach with a ContainerEndpoint that names the gateway");
    }
  }

  private Resolutions resolve(ContainerId id, Set<HostName> names) throws EgressException {
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

  /** Undoes a failed first install: removes what may have been loaded, or queues that removal. */
  private void abandon(LiveAttachment attachment) {
    attachment.stopRefreshing();
    attachment.active = false;
    Removal removal = registry.beginRemoval(attachment);
    try {
      removeRegistered(attachment.name, removal, Operation.REMOVE);
    } catch (EgressException e) {
      log.warn(
          "could not clean up after failed attach of {}: {}",
          attachment.container().id(),
          describe(e));
      scheduleRetries();
    }
  }

  private void scheduleRetries() {
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
  private Set<Subject.Removable> retryRemovals(List<String> failures) {
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

  private void retryRemoval(RuleSetName name, Removal removal) throws EgressException {
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
  private boolean removeRegistered(RuleSetName name, Removal removal, Operation operation)
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
  private void findForeignRuleSets() throws EgressException {
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

  private void ensurePrepared() throws EgressException {
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

  private void healthCheckQuietly() {
    try {
      checkHealth();
    } catch (RuntimeException e) {
      log.error("health check failed", e);
    }
  }

  private void emit(EgressEvent event) {
    try {
      listener.onEvent(event);
    } catch (RuntimeException e) {
      log.warn("egress listener threw on {}", event, e);
    }
  }

  private EgressEvent.Failed failed(ContainerId id, Operation operation, Exception e) {
    return new EgressEvent.Failed(clock.instant(), Subject.container(id), operation, describe(e));
  }

  private static String describe(Exception e) {
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  private static ScheduledExecutorService newDaemonScheduler() {
    return Executors.newSingleThreadScheduledExecutor(
        runnable -> {
          Thread thread = new Thread(runnable, "egress-enforcer");
          thread.setDaemon(true);
          return thread;
        });
  }

  /** One container's attachment; {@link #lock} orders everything done to it. */
  private final class LiveAttachment implements Attachment, AttachmentRegistry.Registered {
    final RuleSetName name;
    final ReentrantLock lock = new ReentrantLock();
    private final ContainerEndpoint container;
    private volatile EgressPolicy policy;
    private volatile Resolutions resolutions = Resolutions.none();
    private volatile boolean active = true;
    private NameResolver.@Nullable Subscription subscription;
    private final Object pendingChange = new Object();
    private @Nullable Resolutions pendingResolutions;
    private final Set<HostName> pendingChangedNames = new HashSet<>();

    LiveAttachment(RuleSetName name, ContainerEndpoint container, EgressPolicy policy) {
      this.name = name;
      this.container = container;
      this.policy = policy;
    }

    @Override
    public ContainerEndpoint container() {
      return container;
    }

    @Override
    public RuleSetName ruleSetName() {
      return name;
    }

    @Override
    public EgressPolicy policy() {
      return policy;
    }

    @Override
    public boolean isActive() {
      return active;
    }

    @Override
    public void update(EgressPolicy newPolicy) throws EgressException {
      registry.checkOpen();
      checkPolicy(container, newPolicy);
      lock.lock();
      try {
        if (!active) {
          throw new IllegalStateException("container " + container.id() + " is detached");
        }
        try {
          install(newPolicy);
        } catch (EgressException | RuntimeException e) {
          emit(failed(container.id(), Operation.UPDATE, e));
          throw e;
        }
        emit(new EgressEvent.Updated(clock.instant(), container, newPolicy));
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void detach() throws EgressException {
      registry.checkOpen();
      lock.lock();
      try {
        if (!active) {
          Removal pending = registry.removalOf(name);
          if (pending != null) {
            retryRemoval(name, pending); // a repeated detach retries a removal that failed
          }
          return;
        }
        active = false;
        stopRefreshing();
        Removal removal = registry.beginRemoval(this);
        try {
          removeRegistered(name, removal, Operation.DETACH);
        } catch (EgressException e) {
          scheduleRetries();
          throw e;
        }
        emit(new EgressEvent.Detached(clock.instant(), Subject.container(container.id())));
      } finally {
        lock.unlock();
      }
    }

    /**
     * Resolves, installs and, on success, makes {@code newPolicy} current. Subscribes before
     * resolving so that no change between the two is missed; on failure the new subscription is
     * dropped and the old one (none before the first install) kept. Caller holds {@link #lock}.
     */
    void install(EgressPolicy newPolicy) throws EgressException {
      ensurePrepared();
      Set<HostName> names = newPolicy.hostNames();
      NameResolver.Subscription newSubscription =
          names.isEmpty() ? null : resolver.subscribe(names, this::onAddressesChanged);
      try {
        Resolutions resolved = resolve(container.id(), names);
        backend.install(name, EnforcementPlan.of(newPolicy, container, resolved));
        NameResolver.Subscription old = subscription;
        subscription = newSubscription;
        policy = newPolicy;
        resolutions = resolved;
        if (old != null) {
          old.close();
        }
        applyPendingChange(); // answers that changed while this install was under way
      } catch (EgressException | RuntimeException e) {
        if (newSubscription != null) {
          newSubscription.close();
        }
        throw e;
      }
    }

    /**
     * Called on a resolver thread. Applies the change at once when the attachment is idle, and
     * otherwise hands it to the scheduler: waiting here for an attach that is itself waiting for
     * the resolver would deadlock. The newest resolutions win; changed names accumulate.
     */
    private void onAddressesChanged(Resolutions current, Set<HostName> changed) {
      synchronized (pendingChange) {
        pendingResolutions = current;
        pendingChangedNames.addAll(changed);
      }
      if (lock.isHeldByCurrentThread()) {
        return; // called back from inside install(), which applies it when done
      }
      if (lock.tryLock()) {
        try {
          applyPendingChange();
        } finally {
          lock.unlock();
        }
      } else if (!registry.isClosed()) {
        try {
          scheduler.execute(
              () -> {
                lock.lock();
                try {
                  applyPendingChange();
                } finally {
                  lock.unlock();
                }
              });
        } catch (RejectedExecutionException e) {
          log.warn(
              "cannot apply address changes of {}: the scheduler is shut down", container.id());
        }
      }
    }

    /** Caller holds {@link #lock}. */
    private void applyPendingChange() {
      Resolutions current;
      Set<HostName> changed;
      synchronized (pendingChange) {
        current = pendingResolutions;
        changed = Set.copyOf(pendingChangedNames);
        pendingResolutions = null;
        pendingChangedNames.clear();
      }
      if (current == null || !active) {
        return;
      }
      Set<HostName> relevant = new HashSet<>(changed);
      relevant.retainAll(policy.hostNames()); // a late call may concern a replaced policy
      if (relevant.isEmpty()) {
        return;
      }
      Resolutions previous = resolutions;
      Resolutions next = previous;
      for (HostName changedName : relevant) {
        next = next.with(changedName, current.addressesOf(changedName));
      }
      try {
        backend.refreshAddresses(name, EnforcementPlan.of(policy, container, next), relevant);
        resolutions = next;
        emit(new EgressEvent.AddressesRefreshed(clock.instant(), container.id(), relevant));
      } catch (EgressException e) {
        emit(failed(container.id(), Operation.REFRESH, e));
        scheduleReinstall();
      }
    }

    private void scheduleReinstall() {
      if (registry.isClosed()) {
        return;
      }
      try {
        scheduler.schedule(
            () -> {
              try {
                reinstall();
              } catch (EgressException e) {
                emit(failed(container.id(), Operation.REFRESH, e));
                scheduleReinstall();
              }
            },
            retryDelay.toMillis(),
            TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        log.warn("cannot schedule a reinstall of {}: the scheduler is shut down", container.id());
      }
    }

    /**
     * Reinstalls the current policy when the rule set reads back missing or not intact.
     *
     * @return whether a reinstall happened
     */
    boolean repairIfDrifted() throws EgressException {
      return reinstallUnless(this::isIntact);
    }

    /**
     * Reinstalls the current policy, known to be missing.
     *
     * @return whether a reinstall happened: false once detached
     */
    boolean reinstall() throws EgressException {
      return reinstallUnless(plan -> false);
    }

    /** Re-resolves and reinstalls unless the rule set is {@code intact} for the fresh plan. */
    private boolean reinstallUnless(Predicate<EnforcementPlan> intact) throws EgressException {
      lock.lock();
      try {
        if (!active) {
          return false;
        }
        Resolutions current = resolve(container.id(), policy.hostNames());
        EnforcementPlan plan = EnforcementPlan.of(policy, container, current);
        boolean drifted = !intact.test(plan);
        if (drifted) {
          backend.install(name, plan);
        }
        resolutions = current;
        return drifted;
      } finally {
        lock.unlock();
      }
    }

    /** The finding that the rule set drifted and {@link #repairIfDrifted} reinstalled it. */
    EgressEvent.DriftDetected reinstalled() {
      return new EgressEvent.DriftDetected(
          clock.instant(),
          Subject.container(container.id()),
          "rule set " + name + " was missing or altered; reinstalled",
          true);
    }

    /**
     * Whether the rule set reads back intact; a read-back that fails counts as not intact, so that
     * the caller reinstalls (atomic and idempotent) rather than leave a rule set it cannot see,
     * which may be missing: pfctl, for one, may fail to list an anchor that no longer exists.
     */
    private boolean isIntact(EnforcementPlan plan) {
      try {
        return backend.isIntact(name, plan);
      } catch (EgressException e) {
        log.warn(
            "cannot read back the rule set {} of {}, reinstalling it: {}",
            name,
            container.id(),
            describe(e));
        return false;
      }
    }

    void stopRefreshing() {
      NameResolver.Subscription current = subscription;
      if (current != null) {
        current.close();
      }
    }

    @Override
    public String toString() {
      return "attachment of " + container + " (" + name + ")";
    }
  }

  /**
   * Collaborators of a {@link RulesetEnforcer} over a given backend; see {@link LifecycleBuilder}.
   */
  public static final class Builder extends LifecycleBuilder<Builder> {
    private final FirewallBackend backend;

    private Builder(FirewallBackend backend) {
      this.backend = Objects.requireNonNull(backend, "backend");
    }

    @Override
    protected Builder self() {
      return this;
    }

    /**
     * @throws IllegalStateException if no resolver was given
     */
    public RulesetEnforcer build() {
      return buildLifecycle(backend);
    }
  }
}
