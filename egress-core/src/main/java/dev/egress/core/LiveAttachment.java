package dev.egress.core;

import dev.egress.core.AttachmentRegistry.Removal;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressEvent.Operation;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One container's attachment: its policy, its current answers, its subscription to their changes,
 * and the steps that change its rule set. {@link #lock} orders everything done to it; the registry
 * says whether it is live.
 */
final class LiveAttachment implements Attachment, AttachmentRegistry.Registered {
  private static final Logger log = LoggerFactory.getLogger(LiveAttachment.class);

  private final BackendSteps steps;
  private final AttachmentRegistry<LiveAttachment> registry;
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

  LiveAttachment(
      BackendSteps steps,
      AttachmentRegistry<LiveAttachment> registry,
      RuleSetName name,
      ContainerEndpoint container,
      EgressPolicy policy) {
    this.steps = steps;
    this.registry = registry;
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
    steps.checkPolicy(container, newPolicy);
    lock.lock();
    try {
      if (!active) {
        throw new IllegalStateException("container " + container.id() + " is detached");
      }
      try {
        install(newPolicy);
      } catch (EgressException | RuntimeException e) {
        steps.emit(steps.failed(container.id(), Operation.UPDATE, e));
        throw e;
      }
      steps.emit(new EgressEvent.Updated(steps.clock.instant(), container, newPolicy));
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
          steps.retryRemoval(name, pending); // a repeated detach retries a removal that failed
        }
        return;
      }
      active = false;
      stopRefreshing();
      Removal removal = registry.beginRemoval(this);
      try {
        steps.removeRegistered(name, removal, Operation.DETACH);
      } catch (EgressException e) {
        steps.scheduleRetries();
        throw e;
      }
      steps.emit(
          new EgressEvent.Detached(steps.clock.instant(), Subject.container(container.id())));
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
    steps.ensurePrepared();
    Set<HostName> names = newPolicy.hostNames();
    NameResolver.Subscription newSubscription =
        names.isEmpty() ? null : steps.resolver.subscribe(names, this::onAddressesChanged);
    try {
      Resolutions resolved = steps.resolve(container.id(), names);
      steps.backend.install(name, EnforcementPlan.of(newPolicy, container, resolved));
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
   * otherwise hands it to the scheduler: waiting here for an attach that is itself waiting for the
   * resolver would deadlock. The newest resolutions win; changed names accumulate.
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
        steps.scheduler.execute(
            () -> {
              lock.lock();
              try {
                applyPendingChange();
              } finally {
                lock.unlock();
              }
            });
      } catch (RejectedExecutionException e) {
        log.warn("cannot apply address changes of {}: the scheduler is shut down", container.id());
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
      steps.backend.refreshAddresses(name, EnforcementPlan.of(policy, container, next), relevant);
      resolutions = next;
      steps.emit(
          new EgressEvent.AddressesRefreshed(steps.clock.instant(), container.id(), relevant));
    } catch (EgressException e) {
      steps.emit(steps.failed(container.id(), Operation.REFRESH, e));
      scheduleReinstall();
    }
  }

  private void scheduleReinstall() {
    if (registry.isClosed()) {
      return;
    }
    try {
      steps.scheduler.schedule(
          () -> {
            try {
              reinstall();
            } catch (EgressException e) {
              steps.emit(steps.failed(container.id(), Operation.REFRESH, e));
              scheduleReinstall();
            }
          },
          steps.retryDelay.toMillis(),
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
  boolean repairIfDrifted(FirewallBackend.Installed installed) throws EgressException {
    return reinstallUnless(plan -> isIntact(installed, plan));
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
      Resolutions current = steps.resolve(container.id(), policy.hostNames());
      EnforcementPlan plan = EnforcementPlan.of(policy, container, current);
      boolean drifted = !intact.test(plan);
      if (drifted) {
        steps.backend.install(name, plan);
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
        steps.clock.instant(),
        Subject.container(container.id()),
        "rule set " + name + " was missing or altered; reinstalled",
        true);
  }

  /**
   * Whether the rule set reads back intact; a read-back that fails counts as not intact, so that
   * the caller reinstalls (atomic and idempotent) rather than leave a rule set it cannot see, which
   * may be missing: pfctl, for one, may fail to list an anchor that no longer exists.
   */
  private boolean isIntact(FirewallBackend.Installed installed, EnforcementPlan plan) {
    try {
      return installed.isIntact(name, plan);
    } catch (EgressException e) {
      log.warn(
          "cannot read back the rule set {} of {}, reinstalling it: {}",
          name,
          container.id(),
          BackendSteps.describe(e));
      return false;
    }
  }

  /** Undoes a failed first install: removes what may have been loaded, or queues that removal. */
  void abandon() {
    stopRefreshing();
    active = false;
    Removal removal = registry.beginRemoval(this);
    try {
      steps.removeRegistered(name, removal, Operation.REMOVE);
    } catch (EgressException e) {
      log.warn(
          "could not clean up after failed attach of {}: {}",
          container.id(),
          BackendSteps.describe(e));
      steps.scheduleRetries();
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
