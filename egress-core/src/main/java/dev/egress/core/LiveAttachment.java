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
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One container's attachment: its policy, its current answers, its subscription to their changes,
 * what the DNS filter granted it, and the steps that change its rule set. {@link #lock} orders
 * everything done to it; the registry says whether it is live.
 *
 * <p>Why one class of this size: policy, answers, subscription and grants change together under
 * {@link #lock}; split, each change would have to take a lock it does not own.
 *
 * <p>Grants go with the rule set: every plan it installs holds the grants that have not ended (so a
 * reinstall or repair keeps them, and an update keeps those of the names the new policy still has),
 * and a detach removes them with the rules; the first install takes over those an earlier enforcer
 * process left in the kernel ({@link FirewallBackend#grantsHeld}). A backend whose kernel does not
 * expire them gets a {@link FirewallBackend#revoke revoke} once they end.
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

  /**
   * The rule set as installed (null before the first install), changed since by each grant, refresh
   * and revoke: its {@link EnforcementPlan#grants grants} are what the DNS filter granted and the
   * kernel holds, by name, each address with its grant's end. Replaced whole under {@link #lock},
   * read without it ({@link #grantedUntil} never waits for the kernel). A grant that has ended
   * stays in it until {@link #dropEnded} next takes it out.
   */
  private volatile @Nullable EnforcementPlan installed;

  /**
   * The grants of {@link #installed} by the instant they end, the earliest first: what {@link
   * #dropEnded} looks at. A grant extended moves to its new end; one that an install dropped stays
   * until its end and is then passed over.
   */
  private final NavigableMap<Instant, Set<Grant>> endings = new TreeMap<>();

  /**
   * Grants that {@link #dropEnded} took out of {@link #installed} when they ended and that a kernel
   * which does not expire them still holds: the next {@link #revokeEnded} takes them out.
   */
  private final Map<HostName, Set<InetAddress>> unrevoked = new TreeMap<>();

  /** The grant of {@code address} to {@code name}'s set. */
  private record Grant(HostName name, InetAddress address) {}

  /**
   * Grants taken over from an earlier process ({@link #grantsOfAnEarlierProcess}) that no answer
   * has written again since. The kernel's sets are per container, so such a grant may be credited
   * to a name that shares its ports with the one it was granted to: harmless while the policy stays
   * (the same elements), wrong under another. An update to another policy drops them; an answer
   * whose grant writes one for its name confirms it.
   */
  private final Set<Grant> takenOver = new HashSet<>();

  private static Map<HostName, Set<InetAddress>> byName(Set<Grant> grants) {
    Map<HostName, Set<InetAddress>> byName = new TreeMap<>();
    grants.forEach(
        grant -> byName.computeIfAbsent(grant.name(), n -> new HashSet<>()).add(grant.address()));
    return byName;
  }

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
   * dropped and the old one (none before the first install) kept. The first install keeps the
   * grants an earlier enforcer process left in the rule set ({@link #grantsOfAnEarlierProcess}).
   * Caller holds {@link #lock}.
   */
  void install(EgressPolicy newPolicy) throws EgressException {
    steps.ensurePrepared();
    Set<HostName> names = newPolicy.hostNames();
    NameResolver.Subscription newSubscription =
        names.isEmpty() ? null : steps.resolver.subscribe(names, this::onAddressesChanged);
    try {
      Resolutions resolved = steps.resolve(container.id(), names);
      EnforcementPlan plan = plan(newPolicy, resolved);
      boolean first = installed == null;
      if (first) {
        plan = plan.withGrants(grantsOfAnEarlierProcess(plan));
      } else if (!takenOver.isEmpty() && !newPolicy.equals(policy)) {
        plan = plan.withGrantsRemoved(byName(takenOver)); // they meant the old policy's names
      }
      steps.backend.install(name, plan);
      NameResolver.Subscription old = subscription;
      EgressPolicy previous = policy;
      subscription = newSubscription;
      policy = newPolicy;
      resolutions = resolved;
      if (first) {
        plan.grants()
            .forEach(
                (grantee, granted) ->
                    granted.forEach(
                        (address, until) -> {
                          Grant grant = new Grant(grantee, address);
                          endings.computeIfAbsent(until, e -> new HashSet<>()).add(grant);
                          takenOver.add(grant);
                        }));
      } else if (!newPolicy.equals(previous)) {
        takenOver.clear();
      }
      installed = plan;
      unrevoked.clear(); // the new rule set does not hold them
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
   * The grants an earlier enforcer process made that the kernel still holds for {@code plan}
   * ({@link FirewallBackend#grantsHeld}), those that have not ended: kept, a restart does not make
   * the container ask again. None when the kernel cannot be read: less network, never more.
   */
  private Map<HostName, Map<InetAddress, Instant>> grantsOfAnEarlierProcess(EnforcementPlan plan) {
    if (plan.dnsFilter() == null) {
      return Map.of();
    }
    try {
      Map<HostName, Map<InetAddress, Instant>> held =
          unended(steps.backend.grantsHeld(name, plan), steps.clock.instant());
      held.values().removeIf(Map::isEmpty);
      if (!held.isEmpty()) {
        log.info(
            "{} keeps the grants of {} names that its rule set {} still holds",
            container.id(),
            held.size(),
            name);
      }
      return held;
    } catch (EgressException | RuntimeException e) {
      log.warn(
          "cannot read what rule set {} of {} still holds; its grants are dropped: {}",
          name,
          container.id(),
          BackendSteps.describe(e));
      return Map.of();
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
      EnforcementPlan plan = plan(policy, next);
      steps.backend.refreshAddresses(name, plan, relevant);
      installed = plan;
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
      EnforcementPlan plan = plan(policy, current);
      boolean drifted = !intact.test(plan);
      if (drifted) {
        steps.backend.install(name, plan);
        unrevoked.clear(); // the new rule set does not hold them
      }
      installed = plan; // as installed now, or read back intact for it
      resolutions = current;
      return drifted;
    } finally {
      lock.unlock();
    }
  }

  /**
   * The plan of {@code plannedPolicy} with {@code resolved} and the grants that have not ended.
   * Caller holds {@link #lock}.
   */
  private EnforcementPlan plan(EgressPolicy plannedPolicy, Resolutions resolved) {
    Instant now = steps.clock.instant();
    EnforcementPlan current = dropEnded(now);
    EnforcementPlan plan = EnforcementPlan.of(plannedPolicy, container, resolved, steps.dnsFilter);
    return current == null ? plan : plan.withGrants(unended(current.grants(), now));
  }

  /**
   * {@code grants} without those that have ended by {@code now}. {@link #endings} should have taken
   * them out already; this check does not rely on it, so that a rule set never gets back a grant
   * that has ended. It walks every grant, as the install or refresh that follows does.
   */
  private static Map<HostName, Map<InetAddress, Instant>> unended(
      Map<HostName, Map<InetAddress, Instant>> grants, Instant now) {
    Map<HostName, Map<InetAddress, Instant>> lasting = new TreeMap<>();
    grants.forEach(
        (grantee, granted) -> {
          Map<InetAddress, Instant> left = new HashMap<>();
          granted.forEach(
              (address, until) -> {
                if (until.isAfter(now)) {
                  left.put(address, until);
                }
              });
          lasting.put(grantee, left);
        });
    return lasting;
  }

  /**
   * Takes the grants that have ended by {@code now} out of {@link #installed} and returns what it
   * is then; those a kernel that does not expire them still holds go to {@link #unrevoked}. Costs
   * what has ended since the last call, not what is held. Caller holds {@link #lock}.
   */
  private @Nullable EnforcementPlan dropEnded(Instant now) {
    EnforcementPlan plan = installed;
    Map<HostName, Set<InetAddress>> ended = new TreeMap<>();
    for (Map.Entry<Instant, Set<Grant>> ending = endings.firstEntry();
        ending != null && !ending.getKey().isAfter(now);
        ending = endings.firstEntry()) {
      endings.remove(ending.getKey());
      for (Grant grant : ending.getValue()) {
        Instant until =
            plan == null
                ? null
                : plan.grants().getOrDefault(grant.name(), Map.of()).get(grant.address());
        if (until != null && !until.isAfter(now)) { // not dropped since
          ended.computeIfAbsent(grant.name(), n -> new HashSet<>()).add(grant.address());
        }
      }
    }
    if (plan == null || ended.isEmpty()) {
      return plan;
    }
    if (!steps.backend.expiresGrants()) {
      ended.forEach(
          (grantee, addresses) ->
              unrevoked.computeIfAbsent(grantee, g -> new HashSet<>()).addAll(addresses));
    }
    EnforcementPlan without = plan.withGrantsRemoved(ended);
    installed = without;
    return without;
  }

  /**
   * Puts {@code addresses} into the sets of the policy's names that cover {@code asked} until
   * {@code expiry}, in one backend call; addresses granted as long or longer already need none. See
   * {@link dev.egress.enforcer.FilteredAttachments#grant}.
   */
  void grant(HostName asked, Set<InetAddress> addresses, Instant expiry) throws EgressException {
    lock.lock();
    try {
      EgressPolicy current = policy;
      if (!active) {
        throw new EgressException(
            "container " + container.id() + " is not attached any more; nothing granted");
      }
      if (registry.isClosed()) {
        // Close revokes the grants it finds under this lock; nothing would revoke a later one.
        throw new EgressException("the enforcer is closed; nothing granted to " + container.id());
      }
      SortedSet<HostName> covering = current.namesCovering(asked);
      if (steps.dnsFilter == null || !current.filtersDns() || covering.isEmpty()) {
        throw new EgressException(
            "the policy of "
                + container.id()
                + " does not let its DNS filter answer "
                + asked
                + "; nothing granted");
      }
      Instant now = steps.clock.instant();
      if (!expiry.isAfter(now)) {
        return; // ended already: nothing to open
      }
      EnforcementPlan plan = dropEnded(now);
      if (plan == null) {
        throw new EgressException(
            "container " + container.id() + " has no rule set installed yet; nothing granted");
      }
      Map<HostName, Map<InetAddress, Instant>> additions = new TreeMap<>();
      for (HostName grantee : covering) {
        if (!plan.addresses().containsKey(grantee)) {
          continue; // a line that opens no port but 53 has no set
        }
        Map<InetAddress, Instant> granted = plan.grants().getOrDefault(grantee, Map.of());
        for (InetAddress address : addresses) {
          Instant until = granted.get(address);
          if (until == null || until.isBefore(expiry)) {
            additions.computeIfAbsent(grantee, g -> new HashMap<>()).put(address, expiry);
          }
        }
      }
      if (additions.isEmpty()) {
        return;
      }
      try {
        steps.backend.grant(name, plan, additions);
      } catch (EgressException | RuntimeException e) {
        steps.emit(steps.failed(container.id(), Operation.GRANT, e));
        if (!steps.backend.expiresGrants()) {
          // The kernel may hold what the failed call added (a commit that could not be read back):
          // take it out as an ended grant would be (a revoke leaves what the plan holds).
          additions.forEach(
              (grantee, added) ->
                  unrevoked.computeIfAbsent(grantee, g -> new HashSet<>()).addAll(added.keySet()));
          scheduleRevoke(now, Duration.ZERO);
        }
        throw e;
      }
      installed = plan.withGrantsAdded(additions);
      if (!takenOver.isEmpty()) {
        // What an answer wrote is the name's own; a grant taken over that outlasts the answer
        // was not written, and stays unconfirmed.
        additions.forEach(
            (grantee, added) ->
                added.keySet().forEach(address -> takenOver.remove(new Grant(grantee, address))));
      }
      Set<Grant> ending = endings.computeIfAbsent(expiry, e -> new HashSet<>());
      additions.forEach(
          (grantee, added) -> {
            Map<InetAddress, Instant> before = plan.grants().getOrDefault(grantee, Map.of());
            for (InetAddress address : added.keySet()) {
              Grant grant = new Grant(grantee, address);
              Instant extended = before.get(address);
              Set<Grant> earlier = extended == null ? null : endings.get(extended);
              if (earlier != null) {
                earlier.remove(grant);
                if (earlier.isEmpty()) {
                  endings.remove(extended);
                }
              }
              ending.add(grant);
            }
          });
      if (!steps.backend.expiresGrants()) {
        scheduleRevoke(expiry, Duration.between(steps.clock.instant(), expiry));
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Until when every one of {@code addresses} is granted for {@code asked} in the sets of the names
   * covering it: the earliest end; empty when one is not granted or has ended. Does not wait for
   * {@link #lock}.
   */
  Optional<Instant> grantedUntil(HostName asked, Set<InetAddress> addresses) {
    EgressPolicy current = policy;
    EnforcementPlan plan = installed;
    SortedSet<HostName> covering = current.namesCovering(asked);
    if (!active || plan == null || addresses.isEmpty() || covering.isEmpty()) {
      return Optional.empty();
    }
    Map<HostName, Map<InetAddress, Instant>> granted = plan.grants();
    Instant now = steps.clock.instant();
    Instant earliest = null;
    for (HostName grantee : covering) {
      Map<InetAddress, Instant> set = granted.getOrDefault(grantee, Map.of());
      for (InetAddress address : addresses) {
        Instant until = set.get(address);
        if (until == null || !until.isAfter(now)) {
          return Optional.empty();
        }
        earliest = earliest == null || until.isBefore(earliest) ? until : earliest;
      }
    }
    return Optional.ofNullable(earliest);
  }

  /** In {@code delay}, {@link #revokeEnded revokes} the grants that have ended by {@code due}. */
  private void scheduleRevoke(Instant due, Duration delay) {
    if (registry.isClosed()) {
      return;
    }
    try {
      steps.scheduler.schedule(
          () -> revokeEnded(due), Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      log.warn("cannot schedule revoking grants of {}: the scheduler is shut down", container.id());
    }
  }

  /**
   * Takes every grant that has ended out of the kernel; on failure, tries again later. {@code due}
   * (the end of the grant that scheduled this) only says when: before it on the enforcer's clock,
   * which the scheduler's may run ahead of, this waits until then.
   */
  private void revokeEnded(Instant due) {
    lock.lock();
    try {
      if (!active) {
        return; // the removal took them with the rules
      }
      Instant now = steps.clock.instant();
      if (now.isBefore(due)) {
        scheduleRevoke(due, Duration.between(now, due));
        return;
      }
      EnforcementPlan plan = dropEnded(now);
      if (plan == null || unrevoked.isEmpty()) {
        return;
      }
      // An address granted again since its grant ended stays.
      Map<HostName, Set<InetAddress>> ended = new TreeMap<>();
      unrevoked.forEach(
          (grantee, addresses) -> {
            Map<InetAddress, Instant> granted = plan.grants().getOrDefault(grantee, Map.of());
            addresses.stream()
                .filter(address -> !granted.containsKey(address))
                .forEach(
                    address -> ended.computeIfAbsent(grantee, g -> new HashSet<>()).add(address));
          });
      if (ended.isEmpty()) {
        unrevoked.clear();
        return;
      }
      try {
        steps.backend.revoke(name, plan, ended);
      } catch (EgressException | RuntimeException e) {
        steps.emit(steps.failed(container.id(), Operation.GRANT, e));
        scheduleRevoke(due, steps.retryDelay);
        return;
      }
      unrevoked.clear();
    } finally {
      lock.unlock();
    }
  }

  /**
   * At the enforcer's close, takes every grant out of a kernel that does not expire them itself:
   * the rules stay in place and no scheduler revokes anything after this, so a grant left there
   * would outlive its answer. A failure is logged; the grants then stay until the rule set is next
   * installed.
   */
  void revokeAllGrantsAtClose() {
    if (steps.backend.expiresGrants()) {
      return;
    }
    lock.lock();
    try {
      EnforcementPlan held = installed;
      if (!active || held == null || (held.grants().isEmpty() && unrevoked.isEmpty())) {
        return;
      }
      Map<HostName, Set<InetAddress>> all = new TreeMap<>();
      unrevoked.forEach((grantee, addresses) -> all.put(grantee, new HashSet<>(addresses)));
      held.grants()
          .forEach(
              (grantee, granted) ->
                  all.computeIfAbsent(grantee, g -> new HashSet<>()).addAll(granted.keySet()));
      EnforcementPlan bare = held.withGrants(Map.of());
      installed = bare; // the plan the backend gets is the one without them
      try {
        steps.backend.revoke(name, bare, all);
        unrevoked.clear();
        endings.clear();
      } catch (EgressException | RuntimeException e) {
        installed = held;
        log.error(
            "cannot revoke the grants of {} at close; they stay until its rule set is next"
                + " installed",
            container.id(),
            e);
      }
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
