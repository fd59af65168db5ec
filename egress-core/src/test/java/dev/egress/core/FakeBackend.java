package dev.egress.core;

import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A packet filter in memory: installed rule sets are {@link EnforcementPlan}s, and a packet's fate
 * is {@link EnforcementPlan#permits} of the rule set holding its source address (nothing without
 * one: the guard). Grants are kept in the installed plan; a kernel that {@link #expiresGrants
 * expires grants} drops them at their end on {@link #clock}, the other kind holds them until
 * revoked. Records every call; can be told to fail.
 */
final class FakeBackend implements FirewallBackend {
  /** This backend's rule-set names: {@code c-} and the container id. */
  record Name(String value) implements RuleSetName {
    @Override
    public String toString() {
      return value;
    }
  }

  final List<String> calls = new ArrayList<>();
  private final Map<RuleSetName, EnforcementPlan> installed = new LinkedHashMap<>();
  private final Map<RuleSetName, TrafficCounters> counted = new HashMap<>();
  private final List<String> hostProblems = new ArrayList<>();
  private final AtomicInteger failuresLeft = new AtomicInteger();
  private volatile boolean failing;
  private volatile boolean failingRemovals;
  private volatile boolean failingReads;
  private volatile boolean creditsEveryName;
  private final AtomicReference<Gate> removeGate = new AtomicReference<>();
  private final boolean expiresGrants;
  private volatile Clock clock = Clock.systemUTC();

  /** A kernel that expires grants itself, as nftables does. */
  FakeBackend() {
    this(true);
  }

  /**
   * @param expiresGrants whether grants leave the sets at their end by themselves (nftables) or
   *     stay until revoked (pf)
   */
  FakeBackend(boolean expiresGrants) {
    this.expiresGrants = expiresGrants;
  }

  /** The kernel's clock, by which grants end. */
  void clock(Clock kernelClock) {
    this.clock = kernelClock;
  }

  @Override
  public RuleSetName ruleSetName(ContainerId containerId) {
    return new Name("c-" + containerId);
  }

  @Override
  public void checkSupported(EgressPolicy policy) throws UnsupportedPolicyException {}

  @Override
  public synchronized void prepare() throws EgressException {
    call("prepare");
    hostProblems.clear();
  }

  @Override
  public Preview preview(RuleSetName name, EnforcementPlan plan) {
    return new Preview(name, plan, plan.toString(), "install " + name);
  }

  @Override
  public synchronized void install(RuleSetName name, EnforcementPlan plan) throws EgressException {
    call("install " + name);
    installed.put(name, plan);
    // The kernel's counters live with the rules: a load starts them again.
    counted.put(name, TrafficCounters.ZERO);
  }

  @Override
  public synchronized void refreshAddresses(
      RuleSetName name, EnforcementPlan plan, Set<HostName> changedNames) throws EgressException {
    call("refresh " + name + " " + changedNames);
    installed.put(name, plan);
  }

  @Override
  public synchronized void grant(
      RuleSetName name, EnforcementPlan plan, Map<HostName, Map<InetAddress, Instant>> additions)
      throws EgressException {
    call("grant " + name + " " + additions.keySet());
    EnforcementPlan current = installed.get(name);
    if (current == null) {
      throw new EgressException("no rule set " + name + " to grant to");
    }
    installed.put(name, current.withGrantsAdded(additions));
  }

  /**
   * The grants that have not ended of the rule set installed for a plan with {@code plan}'s
   * sources, resolvers, filter, lines and logging; none under another plan, or when grants carry no
   * end (a kernel that does not expire them).
   */
  @Override
  public synchronized Map<HostName, Map<InetAddress, Instant>> grantsHeld(
      RuleSetName name, EnforcementPlan plan) throws EgressException {
    calls.add("read grants " + name);
    failIfReadsFail();
    EnforcementPlan held = installed.get(name);
    if (!expiresGrants
        || held == null
        || !held.sources().equals(plan.sources())
        || !held.resolvers().equals(plan.resolvers())
        || !Objects.equals(held.dnsFilter(), plan.dnsFilter())
        || !held.allows().equals(plan.allows())
        || held.logDenied() != plan.logDenied()) {
      return Map.of();
    }
    Map<HostName, Map<InetAddress, Instant>> grants = now(held).grants();
    if (!creditsEveryName) {
      return grants;
    }
    Map<InetAddress, Instant> every = new HashMap<>();
    grants
        .values()
        .forEach(
            granted -> granted.forEach((a, until) -> every.merge(a, until, FakeBackend::earlier)));
    Map<HostName, Map<InetAddress, Instant>> credited = new HashMap<>();
    plan.addresses().keySet().forEach(grantee -> credited.put(grantee, every));
    return credited;
  }

  private static Instant earlier(Instant one, Instant other) {
    return one.isBefore(other) ? one : other;
  }

  /**
   * Makes {@link #grantsHeld} credit every name of the plan with every address granted to any, as a
   * kernel with one set per container does for names whose lines open the same ports.
   */
  void creditEveryName(boolean credit) {
    creditsEveryName = credit;
  }

  @Override
  public boolean expiresGrants() {
    return expiresGrants;
  }

  @Override
  public synchronized void revoke(
      RuleSetName name, EnforcementPlan plan, Map<HostName, Set<InetAddress>> removals)
      throws EgressException {
    call("revoke " + name + " " + removals);
    EnforcementPlan current = installed.get(name);
    if (current == null) {
      return;
    }
    installed.put(name, current.withGrantsRemoved(removals));
  }

  /** The rule set as the kernel holds it now: grants that ended gone, if it expires them. */
  private EnforcementPlan now(EnforcementPlan plan) {
    return expiresGrants ? unended(plan) : plan;
  }

  /** {@code plan} without the grants that have ended. */
  private EnforcementPlan unended(EnforcementPlan plan) {
    Instant now = clock.instant();
    Map<HostName, Map<InetAddress, Instant>> lasting = new HashMap<>();
    plan.grants()
        .forEach(
            (grantee, granted) -> {
              Map<InetAddress, Instant> left = new HashMap<>(granted);
              left.values().removeIf(until -> !until.isAfter(now));
              lasting.put(grantee, left);
            });
    return plan.withGrants(lasting);
  }

  /** The addresses granted to {@code grantee} in rule set {@code name}, ended ones included. */
  synchronized Set<InetAddress> granted(String name, HostName grantee) {
    EnforcementPlan plan = installed.get(new Name(name));
    return plan == null ? Set.of() : plan.grants().getOrDefault(grantee, Map.of()).keySet();
  }

  @Override
  public void remove(RuleSetName name, List<InetAddress> addresses) throws EgressException {
    Gate gate = removeGate.getAndSet(null);
    if (gate != null) {
      gate.hold();
    }
    removeNow(name);
  }

  private synchronized void removeNow(RuleSetName name) throws EgressException {
    call("remove " + name);
    if (failingRemovals) {
      throw new EgressException("injected removal failure: " + name);
    }
    installed.remove(name);
    counted.remove(name);
  }

  /**
   * Makes the next {@link #remove} wait, before it takes effect and without holding this fake's
   * monitor, until the returned gate opens: a slow pfctl, during which other calls go on.
   */
  Gate holdNextRemove() {
    Gate gate = new Gate();
    removeGate.set(gate);
    return gate;
  }

  /** A call held on its way into the kernel. */
  static final class Gate {
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch opened = new CountDownLatch(1);

    void awaitEntered() throws InterruptedException {
      if (!entered.await(5, TimeUnit.SECONDS)) {
        throw new AssertionError("no call reached the gate within 5 s");
      }
    }

    void open() {
      opened.countDown();
    }

    private void hold() {
      entered.countDown();
      try {
        if (!opened.await(5, TimeUnit.SECONDS)) {
          throw new AssertionError("the gate was not opened within 5 s");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public synchronized Map<RuleSetName, List<InetAddress>> installed() throws EgressException {
    call("installed");
    Map<RuleSetName, List<InetAddress>> result = new LinkedHashMap<>();
    installed.forEach((name, plan) -> result.put(name, plan.sources()));
    return result;
  }

  @Override
  public synchronized boolean isIntact(RuleSetName name, EnforcementPlan plan)
      throws EgressException {
    call("isIntact " + name);
    failIfReadsFail();
    EnforcementPlan current = installed.get(name);
    // Grants that have ended are no drift, whether or not they are gone yet.
    return current != null && unended(plan).equals(unended(current));
  }

  @Override
  public synchronized Map<RuleSetName, TrafficCounters> counters() throws EgressException {
    call("counters");
    failIfReadsFail();
    return Map.copyOf(counted);
  }

  @Override
  public synchronized List<String> hostProblems() throws EgressException {
    call("hostProblems");
    failIfReadsFail();
    return List.copyOf(hostProblems);
  }

  @Override
  public void close() {}

  /** What the filter does to {@code flow} from {@code source} now. */
  synchronized boolean allows(InetAddress source, Flow flow) {
    for (EnforcementPlan plan : installed.values()) {
      if (plan.sources().contains(source)) {
        return now(plan).permits(flow);
      }
    }
    return false;
  }

  /**
   * A packet of {@code bytes} from {@code source} opening {@code flow}: what the filter does to it
   * ({@link #allows}), counted on the rule set holding {@code source}.
   */
  synchronized boolean send(InetAddress source, Flow flow, long bytes) {
    boolean allowed = allows(source, flow);
    installed.forEach(
        (name, plan) -> {
          if (plan.sources().contains(source)) {
            TrafficCounters packet =
                allowed ? TrafficCounters.allowed(1, bytes) : TrafficCounters.refused(1, bytes);
            counted.merge(name, packet, TrafficCounters::plus);
          }
        });
    return allowed;
  }

  synchronized boolean isInstalled(String name) {
    return installed.containsKey(new Name(name));
  }

  /** Someone else changed the kernel: the rule set vanishes. */
  synchronized void wipe(String name) {
    installed.remove(new Name(name));
    counted.remove(new Name(name));
  }

  /** Leaves rules that the enforcer did not install, as a crashed process would. */
  synchronized void plant(String name, EnforcementPlan plan) {
    installed.put(new Name(name), plan);
    counted.put(new Name(name), TrafficCounters.ZERO);
  }

  synchronized void reportHostProblem(String problem) {
    hostProblems.add(problem);
  }

  void failAlways(boolean fail) {
    failing = fail;
  }

  /**
   * Makes the read-back calls ({@link #isIntact}, {@link #hostProblems}, {@link #counters}) fail,
   * as pfctl may when the anchor it is asked about no longer exists.
   */
  void failReads(boolean fail) {
    failingReads = fail;
  }

  private void failIfReadsFail() throws EgressException {
    if (failingReads) {
      throw new EgressException("injected read failure");
    }
  }

  /** Makes every removal fail while other calls succeed. */
  void failRemovals(boolean fail) {
    failingRemovals = fail;
  }

  void failNext(int count) {
    failuresLeft.set(count);
  }

  synchronized long count(String prefix) {
    return calls.stream().filter(c -> c.startsWith(prefix)).count();
  }

  private void call(String description) throws EgressException {
    calls.add(description);
    if (failing || failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw new EgressException("injected failure: " + description);
    }
  }
}
