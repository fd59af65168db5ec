package dev.egress.core;

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
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
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

  /** Guards {@link #live}, {@link #pendingRemovals} and {@link #owners}; never held across I/O. */
  private final Object registry = new Object();

  private final Map<ContainerId, LiveAttachment> live = new HashMap<>();

  /**
   * Rule sets being removed, by name: registered before the backend call starts and dropped when it
   * succeeds, so a failed one stays and is retried. While registered, nothing attaches under the
   * name; see {@link #removeRegistered}.
   */
  private final Map<RuleSetName, PendingRemoval> pendingRemovals = new HashMap<>();

  private final Map<InetAddress, ContainerId> owners = new HashMap<>();

  /**
   * Rule sets found installed when this process first prepared the host, until reconcile takes them
   * over: left by an earlier process, they may hold addresses that new containers reuse.
   */
  private final Map<RuleSetName, List<InetAddress>> foreign = new HashMap<>();

  /** Whether a background retry of {@link #pendingRemovals} is scheduled; guarded by registry. */
  private boolean retryScheduled;

  private final ReentrantLock prepareLock = new ReentrantLock();
  private volatile boolean prepared;
  private volatile boolean foreignChecked;
  private volatile boolean closed;

  RulesetEnforcer(FirewallBackend backend, LifecycleBuilder<?> builder) {
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
    if (!builder.healthInterval.isZero()) {
      long millis = builder.healthInterval.toMillis();
      scheduler.scheduleWithFixedDelay(
          this::healthCheckQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }
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
    LiveAttachment attachment;
    synchronized (registry) {
      checkOpen();
      LiveAttachment existing = live.get(container.id());
      if (existing != null) {
        if (!existing.container().equals(container)) {
          throw new IllegalStateException(
              "container "
                  + container.id()
                  + " is attached as "
                  + existing.container()
                  + ", not "
                  + container
                  + ": detach it first");
        }
        attachment = existing;
      } else {
        attachment = null;
      }
    }
    if (attachment != null) {
      attachment.update(policy);
      return attachment;
    }
    findForeignRuleSets();
    claimForeignRuleSetsOf(container, name);
    retryPendingRemovalsOf(container, name);
    LiveAttachment created = new LiveAttachment(name, container, policy);
    reserve(created);
    created.lock.lock();
    try {
      try {
        created.install(policy, true);
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
    synchronized (registry) {
      return List.copyOf(live.values());
    }
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
    checkOpen();
    ensurePrepared(); // a launcher reconciles at start: the guard must be up before containers run
    synchronized (registry) {
      foreignChecked = true;
      foreign.clear(); // reconcile decides about every installed rule set from here on
    }
    Set<ContainerId> liveIds = Set.copyOf(liveContainerIds);
    List<String> failures = new ArrayList<>();
    Set<Subject.Removable> removed = new LinkedHashSet<>();
    Set<ContainerId> repaired = new LinkedHashSet<>();

    removed.addAll(retryPendingRemovals(failures));
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
      PendingRemoval removal;
      synchronized (registry) {
        // An attach since the snapshot owns the name now; a registered removal is under way.
        if (isLiveName(name) || pendingRemovals.containsKey(name)) {
          continue;
        }
        removal = new PendingRemoval(Subject.unowned(name), entry.getValue());
        pendingRemovals.put(name, removal);
      }
      try {
        retryRemoval(name, removal);
        removed.add(removal.subject);
      } catch (EgressException e) {
        scheduleRetries();
        failures.add(describe(e));
      }
    }

    for (Attachment attachment : attachments()) {
      LiveAttachment liveAttachment = (LiveAttachment) attachment;
      try {
        if (liveAttachment.repairIfDrifted(installed.containsKey(liveAttachment.name))) {
          repaired.add(liveAttachment.container().id());
          emit(liveAttachment.reinstalled());
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
    for (Attachment attachment : attachments()) {
      LiveAttachment liveAttachment = (LiveAttachment) attachment;
      try {
        if (liveAttachment.repairIfDrifted(null)) {
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
    synchronized (registry) {
      return pendingRemovals.values().stream()
          .map(removal -> removal.subject)
          .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }
  }

  /**
   * A rule set to remove: whose it is (a container attached here, or unowned rules) and the
   * addresses it governs. Its lock lets one backend call for it run at a time; identity, not value,
   * tells removals apart.
   */
  private static final class PendingRemoval {
    final Subject.Removable subject;
    final List<InetAddress> addresses;
    final ReentrantLock lock = new ReentrantLock();

    PendingRemoval(Subject.Removable subject, List<InetAddress> addresses) {
      this.subject = subject;
      this.addresses = List.copyOf(addresses);
    }
  }

  @Override
  public void close() {
    List<LiveAttachment> attached;
    synchronized (registry) {
      if (closed) {
        return;
      }
      closed = true;
      attached = List.copyOf(live.values());
    }
    attached.forEach(LiveAttachment::stopRefreshing);
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

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the enforcer is closed");
    }
  }

  private void reserve(LiveAttachment attachment) {
    ContainerEndpoint container = attachment.container();
    synchronized (registry) {
      checkOpen();
      if (live.containsKey(container.id()) || pendingRemovals.containsKey(attachment.name)) {
        throw new IllegalStateException(
            "container " + container.id() + " is being attached or removed concurrently");
      }
      for (InetAddress address : container.addresses()) {
        ContainerId owner = owners.get(address);
        if (owner != null) {
          throw new IllegalStateException(
              "address "
                  + IpAddresses.format(address)
                  + " belongs to container "
                  + owner
                  + (pendingRemovals.containsKey(backend.ruleSetName(owner))
                      ? ", whose removal failed and is being retried"
                      : ": detach it first"));
        }
      }
      // An orphan whose removal failed owns no address here, yet its rules still match them.
      for (Map.Entry<RuleSetName, PendingRemoval> pending : pendingRemovals.entrySet()) {
        for (InetAddress address : container.addresses()) {
          if (pending.getValue().addresses.contains(address)) {
            throw new IllegalStateException(
                "address "
                    + IpAddresses.format(address)
                    + " is still governed by rule set "
                    + pending.getKey()
                    + ", whose removal is under way or failed and is being"
                    + " retried: attach again when it is removed");
          }
        }
      }
      for (InetAddress address : container.addresses()) {
        owners.put(address, container.id());
      }
      live.put(container.id(), attachment);
    }
  }

  /** Undoes a failed first install: removes what may have been loaded, or queues that removal. */
  private void abandon(LiveAttachment attachment) {
    attachment.stopRefreshing();
    attachment.active = false;
    PendingRemoval removal = unregisterLive(attachment);
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

  /**
   * Takes a live attachment out of {@link #live} and registers its removal in the same step, so
   * that no attach of the same name can slip in between and have its rules removed.
   */
  private PendingRemoval unregisterLive(LiveAttachment attachment) {
    ContainerEndpoint container = attachment.container();
    PendingRemoval removal =
        new PendingRemoval(Subject.container(container.id()), container.addresses());
    synchronized (registry) {
      live.remove(container.id(), attachment);
      pendingRemovals.put(attachment.name, removal);
    }
    return removal;
  }

  /** Caller holds registry. */
  private boolean isLiveName(RuleSetName name) {
    return live.values().stream().anyMatch(attachment -> attachment.name.equals(name));
  }

  private void scheduleRetries() {
    synchronized (registry) {
      if (retryScheduled || closed) {
        return;
      }
      retryScheduled = true;
    }
    scheduleRetry();
  }

  private void scheduleRetry() {
    try {
      scheduler.schedule(this::retryInBackground, retryDelay.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      synchronized (registry) {
        retryScheduled = false;
      }
      log.warn("cannot schedule removal retries: the scheduler is shut down");
    }
  }

  private void retryInBackground() {
    List<String> failures = new ArrayList<>();
    retryPendingRemovals(failures);
    synchronized (registry) {
      if (pendingRemovals.isEmpty() || closed) {
        retryScheduled = false;
        return;
      }
    }
    scheduleRetry();
  }

  /**
   * Retries, before an attach, the removals that would collide with it: one under the same name (a
   * failed detach, or an orphan reconcile is removing) or one that holds one of its addresses.
   */
  private void retryPendingRemovalsOf(ContainerEndpoint container, RuleSetName name)
      throws EgressException {
    Map<RuleSetName, PendingRemoval> blocking = new HashMap<>();
    synchronized (registry) {
      pendingRemovals.forEach(
          (pendingName, pending) -> {
            if (pendingName.equals(name)
                || container.addresses().stream().anyMatch(pending.addresses::contains)) {
              blocking.put(pendingName, pending);
            }
          });
    }
    for (Map.Entry<RuleSetName, PendingRemoval> entry : blocking.entrySet()) {
      retryRemoval(entry.getKey(), entry.getValue());
    }
  }

  /** Retries every pending removal once; returns whose were removed, adds failures to the list. */
  private Set<Subject.Removable> retryPendingRemovals(List<String> failures) {
    Map<RuleSetName, PendingRemoval> pending;
    synchronized (registry) {
      pending = Map.copyOf(pendingRemovals);
    }
    Set<Subject.Removable> removed = new LinkedHashSet<>();
    pending.forEach(
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

  private void retryRemoval(RuleSetName name, PendingRemoval removal) throws EgressException {
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
  private boolean removeRegistered(RuleSetName name, PendingRemoval removal, Operation operation)
      throws EgressException {
    removal.lock.lock();
    try {
      synchronized (registry) {
        if (pendingRemovals.get(name) != removal) {
          return false;
        }
      }
      try {
        backend.remove(name, removal.addresses);
      } catch (EgressException e) {
        emit(new EgressEvent.Failed(clock.instant(), removal.subject, operation, describe(e)));
        throw e;
      }
      synchronized (registry) {
        pendingRemovals.remove(name, removal);
        if (removal.subject instanceof Subject.Container container) {
          freeAddressesOf(container.id(), removal.addresses);
        }
      }
      return true;
    } finally {
      removal.lock.unlock();
    }
  }

  /**
   * Frees the addresses {@code id} owns among {@code addresses}, unless {@code id} is attached
   * again. Unowned rules own no address. Caller holds registry.
   */
  private void freeAddressesOf(ContainerId id, List<InetAddress> addresses) {
    for (InetAddress address : addresses) {
      if (id.equals(owners.get(address)) && !live.containsKey(id)) {
        owners.remove(address);
      }
    }
  }

  /**
   * Before the first attach of a process that has not reconciled, notes the rule sets an earlier
   * process left installed (one read-back call, once).
   */
  private void findForeignRuleSets() throws EgressException {
    if (foreignChecked) {
      return;
    }
    prepareLock.lock();
    try {
      if (foreignChecked) {
        return;
      }
      Map<RuleSetName, List<InetAddress>> found = backend.installed();
      synchronized (registry) {
        found.forEach(
            (name, addresses) -> {
              if (!isLiveName(name) && !pendingRemovals.containsKey(name)) {
                foreign.put(name, List.copyOf(addresses));
              }
            });
        foreignChecked = true;
      }
    } finally {
      prepareLock.unlock();
    }
  }

  /**
   * A rule set left by an earlier process under another name, holding one of the container's
   * addresses, belongs to a container that is gone (the address is being reused): it is queued for
   * removal, which {@link #retryPendingRemovalsOf} then carries out before the new rules load. One
   * under the same name is simply replaced by the install.
   */
  private void claimForeignRuleSetsOf(ContainerEndpoint container, RuleSetName name) {
    synchronized (registry) {
      foreign.remove(name);
      foreign
          .entrySet()
          .removeIf(
              entry -> {
                if (entry.getValue().stream().noneMatch(container.addresses()::contains)) {
                  return false;
                }
                pendingRemovals.putIfAbsent(
                    entry.getKey(),
                    new PendingRemoval(Subject.unowned(entry.getKey()), entry.getValue()));
                return true;
              });
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
  private final class LiveAttachment implements Attachment {
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
    public EgressPolicy policy() {
      return policy;
    }

    @Override
    public boolean isActive() {
      return active;
    }

    @Override
    public void update(EgressPolicy newPolicy) throws EgressException {
      checkOpen();
      checkPolicy(container, newPolicy);
      lock.lock();
      try {
        if (!active) {
          throw new IllegalStateException("container " + container.id() + " is detached");
        }
        try {
          install(newPolicy, false);
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
      checkOpen();
      lock.lock();
      try {
        if (!active) {
          PendingRemoval pending;
          synchronized (registry) {
            pending = pendingRemovals.get(name);
          }
          if (pending != null) {
            retryRemoval(name, pending); // a repeated detach retries a removal that failed
          }
          return;
        }
        active = false;
        stopRefreshing();
        PendingRemoval removal = unregisterLive(this);
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
     * dropped and the old one (if any) kept. Caller holds {@link #lock}.
     */
    void install(EgressPolicy newPolicy, boolean first) throws EgressException {
      ensurePrepared();
      Set<HostName> names = newPolicy.hostNames();
      NameResolver.Subscription newSubscription =
          names.isEmpty() ? null : resolver.subscribe(names, this::onAddressesChanged);
      try {
        Resolutions resolved = resolve(container.id(), names);
        backend.install(name, EnforcementPlan.of(newPolicy, container, resolved));
        NameResolver.Subscription old = first ? null : subscription;
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
      } else if (!closed) {
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
        } catch (java.util.concurrent.RejectedExecutionException e) {
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
      if (closed) {
        return;
      }
      try {
        scheduler.schedule(
            () -> {
              try {
                repairIfDrifted(false);
              } catch (EgressException e) {
                emit(failed(container.id(), Operation.REFRESH, e));
                scheduleReinstall();
              }
            },
            retryDelay.toMillis(),
            TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        log.warn("cannot schedule a reinstall of {}: the scheduler is shut down", container.id());
      }
    }

    /**
     * Reinstalls the current policy when the rule set is missing or not intact.
     *
     * @param present whether the rule set is known to be present; null to ask the backend
     * @return whether a reinstall happened
     */
    boolean repairIfDrifted(@Nullable Boolean present) throws EgressException {
      lock.lock();
      try {
        if (!active) {
          return false;
        }
        Resolutions current = resolve(container.id(), policy.hostNames());
        EnforcementPlan plan = EnforcementPlan.of(policy, container, current);
        boolean intact = !Boolean.FALSE.equals(present) && isIntact(plan);
        if (intact) {
          resolutions = current;
          return false;
        }
        backend.install(name, plan);
        resolutions = current;
        return true;
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
