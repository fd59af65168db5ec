package dev.egress.testkit;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressEvent.Operation;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.FilteredAttachment;
import dev.egress.enforcer.FilteredAttachments;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * A faithful in-memory {@link EgressEnforcer}: it keeps the rules it would install in a map instead
 * of the kernel, and answers {@link #wouldAllow} with {@link EgressPolicy#permits}, the same
 * decision every real enforcer implements. It passes {@link EgressEnforcerContract}.
 *
 * <p>Why one class of this size: it is one state machine (attachments, pending removals, grants,
 * injected faults) under one lock, kept independent of egress-core on purpose (see below).
 *
 * <p>It models a guarded network: an address that no attachment holds is allowed nothing, and so is
 * an attachment whose rules were {@linkplain #dropRules dropped}. Host names resolve through the
 * {@link NameResolver} it was built with; it subscribes to each policy's names and follows their
 * changes synchronously on the resolver's thread, as a real refresher would.
 *
 * <p><b>Fault injection.</b> Every kernel-changing step — installing rules (attach, update,
 * re-attach), removing them (detach, reconcile), refreshing addresses and repairing drift — is a
 * <i>privileged operation</i>. {@link #failNextOperations} makes the next N of them fail, {@link
 * #failAllOperations} all of them until turned off; a failing step throws {@link EgressException}
 * and emits {@link EgressEvent.Failed}, and leaves exactly what the SPI contract says: a failed
 * attach leaves nothing attached, a failed update keeps the old policy, a failed detach keeps the
 * rules (the container is then {@linkplain #pendingRemovals pending removal}, its addresses stay
 * taken, and the removal is retried by the next {@code detach}, by {@link #reconcile} and by an
 * attach that needs those addresses), a failed refresh keeps the old addresses. Validation errors
 * ({@link UnsupportedPolicyException}, {@link IllegalArgumentException}, {@link
 * IllegalStateException}) happen before any privileged operation and consume no injected fault.
 * {@link #setOperationDelay} makes attach, update, detach and reconcile wait before they start, to
 * model a slow {@code pfctl} or {@code nft}.
 *
 * <p>DNS filtering: built with {@link Builder#dnsFilter the address of a DNS filter} it accepts
 * policies that need one ({@code dns filter}, wildcard names) and is that filter's {@link
 * FilteredAttachments}: a grant is a privileged operation (so injected faults fail it), and its
 * addresses join the sets of the policy names covering the asked name until their expiry on the
 * enforcer's clock. {@link #wouldAllow} decides with the policy, the resolutions and the unexpired
 * grants, and lets port 53 reach the filter's address. Without a filter, such policies are refused
 * with {@link UnsupportedPolicyException}.
 *
 * <p><b>Why an independent model, not the real lifecycle over an in-memory backend.</b> The real
 * lifecycle (egress-core's {@code RulesetEnforcer}) already runs {@link EgressEnforcerContract}
 * over an in-memory backend (egress-core's own tests), over pf with {@link
 * dev.egress.testkit.pf.FakePfctl} and over the kernel's nftables. This class is written from the
 * SPI's javadoc alone, so it is the kit's second witness: a contract the shared lifecycle got wrong
 * would still pass the three subjects that share it, but not this one (Caffeine runs its suites
 * against Guava for the same reason). It also needs no egress-core, so a user's test depends on the
 * SPI and the testkit only, and its faults are injected at the SPI's own steps (attach, detach,
 * refresh, grant) rather than at a backend's, which is what a caller testing its own fail-closed
 * paths wants to aim at. The price is a second implementation of the contract's state machine; the
 * kit is what keeps the two in step.
 *
 * <p>Thread-safe: every operation runs under one lock (the configured delay is waited outside it),
 * so operations on one container are ordered. Listener events are delivered on the thread doing the
 * work, while that lock is held; a listener must not call back into the enforcer.
 */
public final class InMemoryEgressEnforcer implements EgressEnforcer, FilteredAttachments {
  private static final System.Logger LOG = System.getLogger(InMemoryEgressEnforcer.class.getName());

  private final NameResolver resolver;
  private final Clock clock;
  private final EgressListener listener;
  private final @Nullable InetAddress dnsFilter;

  // Everything below is guarded by `this`.
  /** Active attachments and those whose removal failed, by container id. */
  private final Map<ContainerId, Entry> entries = new LinkedHashMap<>();

  private int failuresLeft;
  private boolean failingAll;
  private Duration operationDelay;
  private long privilegedOperations;
  private boolean closed;

  private InMemoryEgressEnforcer(Builder builder, NameResolver resolver) {
    this.resolver = resolver;
    this.clock = builder.clock;
    this.listener = builder.listener;
    this.dnsFilter = builder.dnsFilter;
    this.operationDelay = builder.operationDelay;
  }

  /** A builder; the resolver is required. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public Attachment attach(ContainerEndpoint container, EgressPolicy policy)
      throws EgressException {
    Objects.requireNonNull(container, "container");
    Objects.requireNonNull(policy, "policy");
    checkEnforceable(container, policy);
    pause("attach", container.id());
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException(
            "the enforcer is closed; build a new one to attach " + container.id());
      }
      Entry existing = entries.get(container.id());
      if (existing != null && existing.state == State.ACTIVE) {
        if (!existing.container.equals(container)) {
          throw new IllegalStateException(
              "container id "
                  + container.id()
                  + " is attached as '"
                  + existing.container
                  + "', not '"
                  + container
                  + "': detach it first");
        }
        replace(existing, policy, Operation.ATTACH);
        emit(new EgressEvent.Updated(clock.instant(), container, policy));
        return existing;
      }
      for (Entry other : List.copyOf(entries.values())) {
        InetAddress shared = sharedAddress(other.container, container);
        if (other.state == State.ACTIVE && shared != null) {
          throw new IllegalStateException(
              "address "
                  + IpAddresses.format(shared)
                  + " of container "
                  + container.id()
                  + " belongs to attached container "
                  + other.container.id()
                  + ": detach that one first");
        }
        if (other.state == State.PENDING_REMOVAL
            && (shared != null || other.container.id().equals(container.id()))) {
          remove(other, Operation.REMOVE);
        }
      }
      Entry entry = new Entry(container);
      Binding binding = bind(entry, policy);
      entry.policy = policy;
      entry.binding =
          binding.installed(resolveAndInstall(container.id(), Operation.ATTACH, binding));
      entries.put(container.id(), entry);
      emit(new EgressEvent.Attached(clock.instant(), container, policy));
      return entry;
    }
  }

  @Override
  public synchronized List<Attachment> attachments() {
    return entries.values().stream()
        .filter(e -> e.state == State.ACTIVE)
        .collect(Collectors.toUnmodifiableList());
  }

  @Override
  public Optional<InetAddress> dnsFilter() {
    return Optional.ofNullable(dnsFilter);
  }

  @Override
  public ReconcileResult reconcile(Set<ContainerId> liveContainerIds) throws EgressException {
    Set<ContainerId> live = Set.copyOf(liveContainerIds);
    pause("reconcile", "");
    synchronized (this) {
      Set<Subject.Removable> removed = new HashSet<>();
      Set<ContainerId> repaired = new HashSet<>();
      List<String> failures = new ArrayList<>();
      for (Entry entry : List.copyOf(entries.values())) {
        ContainerId id = entry.container.id();
        try {
          if (entry.state == State.PENDING_REMOVAL || !live.contains(id)) {
            remove(entry, Operation.REMOVE);
            removed.add(Subject.container(id));
          } else if (!entry.rulesPresent) {
            privilegedStep(id, Operation.REPAIR);
            entry.rulesPresent = true;
            entry.counted = TrafficCounters.ZERO;
            repaired.add(id);
            emit(
                new EgressEvent.DriftDetected(
                    clock.instant(),
                    Subject.container(id),
                    "the rules of " + id + " were missing",
                    true));
          }
        } catch (EgressException e) {
          failures.add(e.getMessage());
        }
      }
      if (!failures.isEmpty()) {
        throw new EgressException(
            "reconcile failed for "
                + failures.size()
                + " container(s): "
                + String.join("; ", failures),
            "call reconcile again once the cause is fixed",
            null);
      }
      return new ReconcileResult(removed, repaired);
    }
  }

  /** Stops following name changes. Attached rules stay and keep answering {@link #wouldAllow}. */
  @Override
  public synchronized void close() {
    closed = true;
    entries.values().forEach(e -> e.binding.subscription.close());
  }

  /**
   * Whether a packet from {@code source} opening {@code flow} would pass now: the policy of the
   * attachment (or pending removal) holding {@code source}, decided by {@link EgressPolicy#permits}
   * with the current resolutions of its names. An address no attachment holds is allowed nothing.
   */
  public synchronized boolean wouldAllow(InetAddress source, Flow flow) {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(flow, "flow");
    for (Entry entry : entries.values()) {
      if (entry.container.addresses().contains(source)) {
        return entry.rulesPresent
            && entry.policy.permits(
                flow, entry.container.gateway(), dnsFilter, withGrants(entry, clock.instant()));
      }
    }
    return false;
  }

  /**
   * A packet of {@code bytes} from {@code source} opening {@code flow}: decided as {@link
   * #wouldAllow} decides, and counted as allowed or refused on the attachment holding {@code
   * source} (whose {@link #counters} it then shows). A packet no attachment's rules govern is
   * counted nowhere, as the guard's refusals are no container's.
   *
   * @return whether it passed
   */
  public synchronized boolean send(InetAddress source, Flow flow, long bytes) {
    boolean allowed = wouldAllow(source, flow);
    for (Entry entry : entries.values()) {
      if (entry.container.addresses().contains(source) && entry.rulesPresent) {
        entry.counted =
            entry.counted.plus(
                allowed ? TrafficCounters.allowed(1, bytes) : TrafficCounters.refused(1, bytes));
      }
    }
    return allowed;
  }

  /**
   * What {@link #send} counted per live attachment since its rules were last installed (attach,
   * update, repair); an attachment whose rules were {@linkplain #dropRules dropped} has no entry.
   * Reading the kernel takes privilege too: fails while {@link #failAllOperations} is on (and
   * consumes no {@link #failNextOperations} fault, which is for kernel-changing steps).
   */
  @Override
  public synchronized Map<ContainerId, TrafficCounters> counters() throws EgressException {
    if (closed) {
      throw new IllegalStateException("the enforcer is closed");
    }
    if (failingAll) {
      throw new EgressException(
          "reading the traffic counters failed: injected fault",
          "InMemoryEgressEnforcer was told to fail (failAllOperations)",
          null);
    }
    Map<ContainerId, TrafficCounters> counters = new HashMap<>();
    for (Entry entry : entries.values()) {
      if (entry.state == State.ACTIVE && entry.rulesPresent) {
        counters.put(entry.container.id(), entry.counted);
      }
    }
    return Map.copyOf(counters);
  }

  @Override
  public synchronized Optional<FilteredAttachment> bySource(InetAddress source) {
    Objects.requireNonNull(source, "source");
    for (Entry entry : entries.values()) {
      if (entry.container.addresses().contains(source)) {
        return entry.state == State.ACTIVE && entry.policy.filtersDns()
            ? Optional.of(new FilteredAttachment(entry.container.id(), entry.policy))
            : Optional.empty();
      }
    }
    return Optional.empty();
  }

  @Override
  public synchronized Optional<Instant> grantedUntil(
      ContainerId container, HostName asked, Set<InetAddress> addresses) {
    Entry entry = entries.get(container);
    if (entry == null || entry.state != State.ACTIVE || addresses.isEmpty()) {
      return Optional.empty();
    }
    Set<HostName> names = entry.policy.namesCovering(asked);
    Instant now = clock.instant();
    Instant earliest = null;
    for (HostName name : names) {
      Map<InetAddress, Instant> granted = entry.grants.getOrDefault(name, Map.of());
      for (InetAddress address : addresses) {
        Instant until = granted.get(address);
        if (until == null || !until.isAfter(now)) {
          return Optional.empty();
        }
        earliest = earliest == null || until.isBefore(earliest) ? until : earliest;
      }
    }
    return Optional.ofNullable(earliest);
  }

  @Override
  public synchronized void grant(
      ContainerId container, HostName asked, Set<InetAddress> addresses, Instant expiry)
      throws EgressException {
    Objects.requireNonNull(expiry, "expiry");
    Set<InetAddress> granted = Set.copyOf(addresses);
    if (closed) {
      throw new EgressException("the enforcer is closed; nothing granted to " + container);
    }
    Entry entry = entries.get(container);
    if (entry == null || entry.state != State.ACTIVE) {
      throw new EgressException("container " + container + " is not attached; nothing granted");
    }
    Set<HostName> names = entry.policy.namesCovering(asked);
    if (!entry.policy.filtersDns() || names.isEmpty()) {
      throw new EgressException(
          "the policy of " + container + " does not let its DNS filter answer " + asked);
    }
    privilegedStep(container, Operation.GRANT);
    for (HostName name : names) {
      Map<InetAddress, Instant> set = entry.grants.computeIfAbsent(name, n -> new HashMap<>());
      for (InetAddress address : granted) {
        set.merge(address, expiry, (old, added) -> added.isAfter(old) ? added : old);
      }
    }
  }

  /** The entry's resolutions with its unexpired grants added to their names' sets. */
  private static Resolutions withGrants(Entry entry, Instant now) {
    Resolutions result = entry.binding.resolutions;
    for (Map.Entry<HostName, Map<InetAddress, Instant>> set : entry.grants.entrySet()) {
      Set<InetAddress> addresses = new HashSet<>(result.addressesOf(set.getKey()));
      set.getValue()
          .forEach(
              (address, until) -> {
                if (until.isAfter(now)) {
                  addresses.add(address);
                }
              });
      result = result.with(set.getKey(), addresses);
    }
    return result;
  }

  /** Containers whose detach failed and whose rules are still in place. */
  public synchronized Set<Subject.Removable> pendingRemovals() {
    return entries.values().stream()
        .filter(e -> e.state == State.PENDING_REMOVAL)
        .map(e -> Subject.container(e.container.id()))
        .collect(Collectors.toUnmodifiableSet());
  }

  /**
   * Makes the next {@code count} privileged operations fail (0 stops it). Adds to nothing: the
   * count replaces any count left.
   */
  public synchronized void failNextOperations(int count) {
    if (count < 0) {
      throw new IllegalArgumentException("count must not be negative, got " + count);
    }
    failuresLeft = count;
  }

  /** While {@code failing}, every privileged operation fails. */
  public synchronized void failAllOperations(boolean failing) {
    failingAll = failing;
  }

  /** Makes attach, update, detach and reconcile wait {@code delay} before they start. */
  public synchronized void setOperationDelay(Duration delay) {
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay must not be negative, got " + delay);
    }
    operationDelay = delay;
  }

  /** How many privileged operations were attempted so far, failed ones included. */
  public synchronized long privilegedOperations() {
    return privilegedOperations;
  }

  /**
   * Simulates drift: the rules of container {@code id} vanish from the kernel (someone flushed
   * them), so it is allowed nothing until {@link #reconcile} reinstalls them.
   *
   * @throws IllegalArgumentException if no container with that id is attached
   */
  public synchronized void dropRules(ContainerId id) {
    Entry entry = entries.get(id);
    if (entry == null || entry.state != State.ACTIVE) {
      throw new IllegalArgumentException("no container " + id + " is attached");
    }
    entry.rulesPresent = false;
  }

  private void checkEnforceable(ContainerEndpoint container, EgressPolicy policy)
      throws UnsupportedPolicyException {
    if (policy.requiresDnsFiltering() && dnsFilter == null) {
      throw UnsupportedPolicyException.withoutDnsFilter(
          "the in-memory enforcer for " + container.id(), policy);
    }
    if (policy.usesGateway() && container.gateway() == null) {
      throw new IllegalArgumentException(
          "the policy for "
              + container.id()
              + " uses the gateway, but the container's gateway is unknown: pass a ContainerEndpoint"
              + " with its gateway");
    }
  }

  private void pause(String operation, Object id) throws EgressException {
    Duration delay;
    synchronized (this) {
      delay = operationDelay;
    }
    if (delay.isZero()) {
      return;
    }
    try {
      Thread.sleep(delay.toMillis(), delay.toNanosPart() % 1_000_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new EgressException(
          operation + " " + id + " was interrupted before it started;" + " nothing changed", e);
    }
  }

  /** Replaces the policy of an active entry, or leaves it unchanged and throws. */
  private void replace(Entry entry, EgressPolicy policy, Operation operation)
      throws EgressException {
    Binding binding = bind(entry, policy);
    Resolutions resolutions = resolveAndInstall(entry.container.id(), operation, binding);
    entry.binding.subscription.close();
    entry.policy = policy;
    entry.binding = binding.installed(resolutions);
    entry.rulesPresent = true;
    entry.counted = TrafficCounters.ZERO;
    // Grants stay only for names the new policy still fills through its filter.
    Set<HostName> kept = new HashSet<>(policy.hostNames());
    kept.addAll(policy.wildcardNames());
    entry.grants.keySet().removeIf(name -> !policy.filtersDns() || !kept.contains(name));
  }

  /** Subscribes to the policy's names; the entry follows changes once this binding is its own. */
  private Binding bind(Entry entry, EgressPolicy policy) {
    SortedSet<HostName> names = policy.hostNames();
    Binding binding = new Binding();
    binding.subscription =
        resolver.subscribe(names, (current, changed) -> refresh(entry, binding, current, changed));
    binding.names = names;
    return binding;
  }

  /** Resolves the binding's names and installs the rules, or closes the binding and throws. */
  private Resolutions resolveAndInstall(ContainerId id, Operation operation, Binding binding)
      throws EgressException {
    try {
      Resolutions resolutions = resolver.resolve(binding.names);
      privilegedStep(id, operation);
      return resolutions;
    } catch (InterruptedException e) {
      binding.subscription.close();
      Thread.currentThread().interrupt();
      throw new EgressException(
          operation + " " + id + " was interrupted while resolving names;" + " nothing changed", e);
    } catch (EgressException e) {
      binding.subscription.close();
      throw e;
    }
  }

  private synchronized void refresh(
      Entry entry, Binding binding, Resolutions current, Set<HostName> changed) {
    if (entry.binding != binding || entry.state == State.REMOVED || closed) {
      return;
    }
    try {
      privilegedStep(entry.container.id(), Operation.REFRESH);
    } catch (EgressException e) {
      return; // the old addresses stay; privilegedStep reported the failure
    }
    binding.resolutions = current;
    emit(new EgressEvent.AddressesRefreshed(clock.instant(), entry.container.id(), changed));
  }

  /** Removes an entry's rules, or marks it pending removal and throws. */
  private void remove(Entry entry, Operation operation) throws EgressException {
    try {
      privilegedStep(entry.container.id(), operation);
    } catch (EgressException e) {
      entry.state = State.PENDING_REMOVAL;
      throw e;
    }
    entry.state = State.REMOVED;
    entry.binding.subscription.close();
    entries.remove(entry.container.id(), entry);
    emit(new EgressEvent.Detached(clock.instant(), Subject.container(entry.container.id())));
  }

  /** One kernel-changing step: fails when a fault is injected. */
  private void privilegedStep(ContainerId id, Operation operation) throws EgressException {
    privilegedOperations++;
    if (failingAll || failuresLeft > 0) {
      if (!failingAll) {
        failuresLeft--;
      }
      String message = operation + " of container " + id + " failed: injected fault";
      emit(new EgressEvent.Failed(clock.instant(), Subject.container(id), operation, message));
      throw new EgressException(
          message,
          "InMemoryEgressEnforcer was told to fail (failNextOperations / failAllOperations)",
          null);
    }
  }

  private void emit(EgressEvent event) {
    try {
      listener.onEvent(event);
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "egress listener failed on " + event, e);
    }
  }

  private static @Nullable InetAddress sharedAddress(ContainerEndpoint a, ContainerEndpoint b) {
    for (InetAddress address : b.addresses()) {
      if (a.addresses().contains(address)) {
        return address;
      }
    }
    return null;
  }

  private enum State {
    ACTIVE,
    /** A detach or reconcile failed to remove the rules; they stay until a retry succeeds. */
    PENDING_REMOVAL,
    REMOVED
  }

  /** A policy's names, the subscription following them and their current addresses. */
  private static final class Binding {
    NameResolver.Subscription subscription = () -> {};
    Set<HostName> names = Set.of();
    Resolutions resolutions = Resolutions.none();

    Binding installed(Resolutions initial) {
      resolutions = initial;
      return this;
    }
  }

  private final class Entry implements Attachment {
    final ContainerEndpoint container;
    // Guarded by the enforcer's lock.
    EgressPolicy policy = EgressPolicy.denyAll();
    Binding binding = new Binding();
    State state = State.ACTIVE;
    boolean rulesPresent = true;

    /** What {@link #send} counted since the rules were last installed. */
    TrafficCounters counted = TrafficCounters.ZERO;

    /** What the DNS filter granted: per policy name, each address until its expiry. */
    final Map<HostName, Map<InetAddress, Instant>> grants = new HashMap<>();

    Entry(ContainerEndpoint container) {
      this.container = container;
    }

    @Override
    public ContainerEndpoint container() {
      return container;
    }

    @Override
    public EgressPolicy policy() {
      synchronized (InMemoryEgressEnforcer.this) {
        return policy;
      }
    }

    @Override
    public boolean isActive() {
      synchronized (InMemoryEgressEnforcer.this) {
        return state == State.ACTIVE;
      }
    }

    @Override
    public void update(EgressPolicy newPolicy) throws EgressException {
      Objects.requireNonNull(newPolicy, "policy");
      checkEnforceable(container, newPolicy);
      pause("update", container.id());
      synchronized (InMemoryEgressEnforcer.this) {
        if (state != State.ACTIVE) {
          throw new IllegalStateException(
              "container "
                  + container.id()
                  + " is no longer attached: attach it again instead of updating");
        }
        if (closed) {
          throw new IllegalStateException(
              "the enforcer is closed; build a new one to update " + container.id());
        }
        replace(this, newPolicy, Operation.UPDATE);
        emit(new EgressEvent.Updated(clock.instant(), container, newPolicy));
      }
    }

    @Override
    public void detach() throws EgressException {
      pause("detach", container.id());
      synchronized (InMemoryEgressEnforcer.this) {
        if (state != State.REMOVED) {
          remove(this, Operation.DETACH);
        }
      }
    }

    @Override
    public String toString() {
      synchronized (InMemoryEgressEnforcer.this) {
        return "attachment of " + container + " (" + state + ")";
      }
    }
  }

  /**
   * Builds an {@link InMemoryEgressEnforcer}. The resolver is required; the clock defaults to
   * {@link Clock#systemUTC()} and the listener to {@link EgressListener#NONE}.
   */
  public static final class Builder {
    private @Nullable NameResolver resolver;
    private Clock clock = Clock.systemUTC();
    private EgressListener listener = EgressListener.NONE;
    private @Nullable InetAddress dnsFilter;
    private Duration operationDelay = Duration.ZERO;

    private Builder() {}

    /**
     * The resolver host names are resolved and followed with, usually a {@link FakeNameResolver}.
     */
    public Builder resolver(NameResolver resolver) {
      this.resolver = Objects.requireNonNull(resolver, "resolver");
      return this;
    }

    /** The clock that stamps events. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Receives every event. */
    public Builder listener(EgressListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * The address the DNS filter listens on: policies that need one are accepted, and port 53 to it
     * is let through for {@code dns filter} policies. Default: none (such policies are refused).
     */
    public Builder dnsFilter(InetAddress filterAddress) {
      this.dnsFilter = Objects.requireNonNull(filterAddress, "filterAddress");
      return this;
    }

    /** The initial delay of every operation; see {@link #setOperationDelay}. */
    public Builder operationDelay(Duration delay) {
      if (delay.isNegative()) {
        throw new IllegalArgumentException("delay must not be negative, got " + delay);
      }
      this.operationDelay = delay;
      return this;
    }

    /**
     * @throws IllegalStateException if no resolver was given
     */
    public InMemoryEgressEnforcer build() {
      NameResolver chosen = resolver;
      if (chosen == null) {
        throw new IllegalStateException(
            "an InMemoryEgressEnforcer needs a resolver: call"
                + " resolver(new FakeNameResolver()) before build()");
      }
      return new InMemoryEgressEnforcer(this, chosen);
    }
  }
}
