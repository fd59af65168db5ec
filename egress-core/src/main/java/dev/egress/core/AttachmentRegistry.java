package dev.egress.core;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The lifecycle's bookkeeping, with no backend behind it: which container is attached under which
 * rule set, which addresses each holds, which rule sets are being removed, and which were found
 * installed by an earlier process. One lock (this object's monitor) guards all of it and is never
 * held across a backend call; every change is one of the named transitions below, each atomic.
 *
 * <p>An attachment moves {@link #reserve reserved} → {@link #beginRemoval removing} → {@link
 * #removed gone}; a removal that fails stays registered, and its addresses stay reserved, until a
 * retry succeeds. Rules found installed that no attachment owns enter as {@link #queueOrphan
 * orphans} (removing, owning no address) or as {@link #noteForeign foreign} rule sets, which an
 * attach that reuses one of their addresses {@link #claimForeignOf claims} for removal.
 *
 * @param <A> the attachment kept per container
 */
final class AttachmentRegistry<A extends AttachmentRegistry.Registered> {

  /** What the registry needs to know of an attachment. */
  interface Registered {
    RuleSetName ruleSetName();

    ContainerEndpoint container();
  }

  /**
   * A rule set to remove: whose it is (a container attached here, or unowned rules) and the
   * addresses it governs. Its lock lets one backend call for it run at a time; identity, not value,
   * tells removals apart.
   */
  static final class Removal {
    final Subject.Removable subject;
    final List<InetAddress> addresses;
    final ReentrantLock lock = new ReentrantLock();

    Removal(Subject.Removable subject, List<InetAddress> addresses) {
      this.subject = subject;
      this.addresses = List.copyOf(addresses);
    }
  }

  private final Map<ContainerId, A> live = new HashMap<>();

  /**
   * Rule sets being removed, by name: registered before the backend call starts and dropped when it
   * succeeds, so a failed one stays and is retried. While registered, nothing attaches under the
   * name.
   */
  private final Map<RuleSetName, Removal> removals = new HashMap<>();

  /** Who holds each address: a live attachment, or a container whose removal is pending. */
  private final Map<InetAddress, ContainerId> owners = new HashMap<>();

  /**
   * Rule sets found installed when this process first prepared the host, until reconcile takes them
   * over: left by an earlier process, they may hold addresses that new containers reuse.
   */
  private final Map<RuleSetName, List<InetAddress>> foreign = new HashMap<>();

  private boolean foreignChecked;
  private boolean retriesScheduled;
  private boolean closed;

  /**
   * The attachment of {@code container}'s id, if one is live.
   *
   * @throws IllegalStateException if the registry is closed, or the id is attached with another
   *     endpoint
   */
  synchronized Optional<A> attachedAs(ContainerEndpoint container) {
    checkOpen();
    A existing = live.get(container.id());
    if (existing != null && !existing.container().equals(container)) {
      throw new IllegalStateException(
          "container "
              + container.id()
              + " is attached as "
              + existing.container()
              + ", not "
              + container
              + ": detach it first");
    }
    return Optional.ofNullable(existing);
  }

  /**
   * Makes {@code attachment} live and gives it its container's addresses.
   *
   * @throws IllegalStateException if the registry is closed, the id or name is taken, or an address
   *     is held by another container or governed by a rule set being removed
   */
  synchronized void reserve(A attachment) {
    checkOpen();
    ContainerEndpoint container = attachment.container();
    if (live.containsKey(container.id()) || removals.containsKey(attachment.ruleSetName())) {
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
                + (isBeingRemoved(owner)
                    ? ", whose removal failed and is being retried"
                    : ": detach it first"));
      }
    }
    // An orphan whose removal failed owns no address here, yet its rules still match them.
    for (Map.Entry<RuleSetName, Removal> pending : removals.entrySet()) {
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

  /**
   * Takes {@code attachment} out of the live set and registers its removal in the same step, so
   * that no attach under the same name can slip in between and have its rules removed. Its
   * addresses stay reserved until {@link #removed}.
   */
  synchronized Removal beginRemoval(A attachment) {
    ContainerEndpoint container = attachment.container();
    Removal removal = new Removal(Subject.container(container.id()), container.addresses());
    live.remove(container.id(), attachment);
    removals.put(attachment.ruleSetName(), removal);
    return removal;
  }

  /**
   * Registers the removal of rules found installed that no attachment owns.
   *
   * @return the removal, or empty when an attachment owns the name now or its removal is already
   *     registered
   */
  synchronized Optional<Removal> queueOrphan(RuleSetName name, List<InetAddress> addresses) {
    if (isLiveName(name) || removals.containsKey(name)) {
      return Optional.empty();
    }
    Removal removal = new Removal(Subject.unowned(name), addresses);
    removals.put(name, removal);
    return Optional.of(removal);
  }

  /**
   * Whether {@code removal} is still the registered removal of {@code name}: a retry that lost the
   * race to another one must not remove rules an attach has loaded under the same name since.
   */
  synchronized boolean isCurrent(RuleSetName name, Removal removal) {
    return removals.get(name) == removal;
  }

  /** Ends {@code removal} after the backend removed the rules: frees its container's addresses. */
  synchronized void removed(RuleSetName name, Removal removal) {
    removals.remove(name, removal);
    if (removal.subject instanceof Subject.Container container) {
      for (InetAddress address : removal.addresses) {
        if (container.id().equals(owners.get(address)) && !live.containsKey(container.id())) {
          owners.remove(address);
        }
      }
    }
  }

  /** The registered removal of {@code name}, or null. */
  synchronized @Nullable Removal removalOf(RuleSetName name) {
    return removals.get(name);
  }

  /** Every registered removal, by name, as of now. */
  synchronized Map<RuleSetName, Removal> removals() {
    return Map.copyOf(removals);
  }

  /** Whose removals are registered. */
  synchronized Set<Subject.Removable> removalSubjects() {
    return removals.values().stream()
        .map(removal -> removal.subject)
        .collect(Collectors.toUnmodifiableSet());
  }

  /**
   * The removals an attach of {@code container} under {@code name} must wait for: one under the
   * same name, or one that governs one of its addresses.
   */
  synchronized Map<RuleSetName, Removal> removalsBlocking(
      ContainerEndpoint container, RuleSetName name) {
    Map<RuleSetName, Removal> blocking = new HashMap<>();
    removals.forEach(
        (pendingName, pending) -> {
          if (pendingName.equals(name)
              || container.addresses().stream().anyMatch(pending.addresses::contains)) {
            blocking.put(pendingName, pending);
          }
        });
    return blocking;
  }

  /** Whether the rule sets an earlier process left have been noted (or reconcile took over). */
  synchronized boolean foreignChecked() {
    return foreignChecked;
  }

  /** Notes the rule sets found installed that neither a live attachment nor a removal owns. */
  synchronized void noteForeign(Map<RuleSetName, List<InetAddress>> found) {
    found.forEach(
        (name, addresses) -> {
          if (!isLiveName(name) && !removals.containsKey(name)) {
            foreign.put(name, List.copyOf(addresses));
          }
        });
    foreignChecked = true;
  }

  /** Reconcile decides about every installed rule set from here on: the foreign notes go. */
  synchronized void forgetForeign() {
    foreignChecked = true;
    foreign.clear();
  }

  /**
   * Before {@code container} attaches under {@code name}: a foreign rule set under another name
   * that holds one of its addresses belongs to a container that is gone (the address is being
   * reused) and is queued for removal; one under the same name is simply replaced by the install.
   */
  synchronized void claimForeignOf(ContainerEndpoint container, RuleSetName name) {
    foreign.remove(name);
    foreign
        .entrySet()
        .removeIf(
            entry -> {
              if (entry.getValue().stream().noneMatch(container.addresses()::contains)) {
                return false;
              }
              removals.putIfAbsent(
                  entry.getKey(), new Removal(Subject.unowned(entry.getKey()), entry.getValue()));
              return true;
            });
  }

  /**
   * The live attachment that holds {@code source} now, if any. An address whose container is being
   * removed is held by no attachment, though it stays reserved.
   */
  synchronized Optional<A> holding(InetAddress source) {
    ContainerId owner = owners.get(source);
    return owner == null ? Optional.empty() : Optional.ofNullable(live.get(owner));
  }

  /** The live attachment of container {@code id}, if any. */
  synchronized Optional<A> live(ContainerId id) {
    return Optional.ofNullable(live.get(id));
  }

  /** The live attachments, as of now. */
  synchronized List<A> attachments() {
    return List.copyOf(live.values());
  }

  /**
   * Claims the background retry of removals.
   *
   * @return true if the caller should schedule it; false if one is scheduled or the registry is
   *     closed
   */
  synchronized boolean startRetries() {
    if (retriesScheduled || closed) {
      return false;
    }
    retriesScheduled = true;
    return true;
  }

  /**
   * After a round of background retries: whether they are over (nothing left to remove, or closed),
   * in which case the next failure may claim them again.
   */
  synchronized boolean retriesOver() {
    if (removals.isEmpty() || closed) {
      retriesScheduled = false;
      return true;
    }
    return false;
  }

  /** The background retries could not be scheduled. */
  synchronized void retriesStopped() {
    retriesScheduled = false;
  }

  synchronized boolean isClosed() {
    return closed;
  }

  /**
   * Refuses every later reservation.
   *
   * @return false if already closed
   */
  synchronized boolean close() {
    if (closed) {
      return false;
    }
    closed = true;
    return true;
  }

  /**
   * @throws IllegalStateException if closed
   */
  synchronized void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the enforcer is closed");
    }
  }

  private boolean isLiveName(RuleSetName name) {
    return live.values().stream().anyMatch(attachment -> attachment.ruleSetName().equals(name));
  }

  private boolean isBeingRemoved(ContainerId id) {
    return removals.values().stream()
        .anyMatch(removal -> removal.subject.equals(Subject.container(id)));
  }
}
