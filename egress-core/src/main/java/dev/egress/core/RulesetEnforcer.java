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
import dev.egress.enforcer.FilteredAttachment;
import dev.egress.enforcer.FilteredAttachments;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link EgressEnforcer} lifecycle for any packet filter, written once: per-container ordering,
 * resolution and refresh of host names, fail-closed error handling, background retries of failed
 * removals, reconciliation after restarts, and drift checks. The packet filter itself is a {@link
 * FirewallBackend}. This class holds the enforcer-wide operations (attach, reconcile, health check,
 * close); who is attached and who holds which address is the {@link AttachmentRegistry}'s, one
 * container's rule set changes in its {@link LiveAttachment}, and the steps towards backend,
 * resolver and listener that both take are {@link BackendSteps}.
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
 *   <li>A grant that fails leaves the sets as they were; a container without {@code dns filter}, or
 *       a name its policy does not cover, is granted nothing.
 * </ul>
 *
 * <p>Built with a {@link LifecycleBuilder#dnsFilter DNS filter}, it accepts policies that need one
 * and is that filter's {@link FilteredAttachments}: grants go into the sets of the attachment's
 * rule set through {@link FirewallBackend#grant} and stay with it (see {@link LiveAttachment}).
 * Without one, such policies are refused and {@link #bySource} finds nobody.
 */
public final class RulesetEnforcer implements EgressEnforcer, FilteredAttachments {
  private static final Logger log = LoggerFactory.getLogger(RulesetEnforcer.class);

  private final FirewallBackend backend;
  private final ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;
  private final AttachmentRegistry<LiveAttachment> registry = new AttachmentRegistry<>();
  private final BackendSteps steps;

  private RulesetEnforcer(
      FirewallBackend backend,
      LifecycleBuilder<?> builder,
      NameResolver resolver,
      EgressListener listener) {
    this.backend = backend;
    ScheduledExecutorService givenScheduler = builder.scheduler;
    this.ownsScheduler = givenScheduler == null;
    this.scheduler = givenScheduler != null ? givenScheduler : newDaemonScheduler();
    this.steps =
        new BackendSteps(
            backend,
            resolver,
            listener,
            builder.clock,
            scheduler,
            builder.retryDelay,
            builder.dnsFilter,
            builder.enforcerName(),
            registry);
  }

  /**
   * A started enforcer: constructed first, then its periodic health check scheduled, so that the
   * check never runs on a half-built object.
   */
  static RulesetEnforcer start(
      FirewallBackend backend,
      LifecycleBuilder<?> builder,
      NameResolver resolver,
      EgressListener listener) {
    RulesetEnforcer enforcer = new RulesetEnforcer(backend, builder, resolver, listener);
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
    steps.checkPolicy(container, policy);
    RuleSetName name = backend.ruleSetName(container.id());
    steps.ensurePrepared();
    Optional<LiveAttachment> existing = registry.attachedAs(container);
    if (existing.isPresent()) {
      existing.get().update(policy);
      return existing.get();
    }
    steps.findForeignRuleSets();
    registry.claimForeignOf(container, name);
    for (Map.Entry<RuleSetName, Removal> blocking :
        registry.removalsBlocking(container, name).entrySet()) {
      steps.retryRemoval(blocking.getKey(), blocking.getValue());
    }
    LiveAttachment created = new LiveAttachment(steps, registry, name, container, policy);
    // Locked before others can see it: a health check waits for its first install, which takes
    // over what an earlier process granted, instead of installing before it.
    created.lock.lock();
    try {
      registry.reserve(created);
      try {
        created.install(policy);
      } catch (EgressException | RuntimeException e) {
        created.abandon();
        steps.emit(steps.failed(container.id(), Operation.ATTACH, e));
        throw e;
      }
      steps.emit(new EgressEvent.Attached(steps.clock.instant(), container, policy));
      return created;
    } finally {
      created.lock.unlock();
    }
  }

  @Override
  public List<Attachment> attachments() {
    return List.copyOf(registry.attachments());
  }

  @Override
  public Optional<InetAddress> dnsFilter() {
    return Optional.ofNullable(steps.dnsFilter);
  }

  @Override
  public Map<ContainerId, TrafficCounters> counters() throws EgressException {
    registry.checkOpen();
    Map<RuleSetName, TrafficCounters> installed = backend.counters();
    Map<ContainerId, TrafficCounters> counters = new HashMap<>();
    for (LiveAttachment attachment : registry.attachments()) {
      TrafficCounters found = installed.get(attachment.name);
      if (found != null) {
        counters.put(attachment.container().id(), found);
      }
    }
    return Map.copyOf(counters);
  }

  @Override
  public Optional<FilteredAttachment> bySource(InetAddress source) {
    return registry
        .holding(source)
        .filter(attachment -> attachment.isActive() && attachment.policy().filtersDns())
        .map(
            attachment -> new FilteredAttachment(attachment.container().id(), attachment.policy()));
  }

  @Override
  public Optional<Instant> grantedUntil(
      ContainerId container, HostName asked, Set<InetAddress> addresses) {
    return registry
        .live(container)
        .flatMap(attachment -> attachment.grantedUntil(asked, Set.copyOf(addresses)));
  }

  @Override
  public void grant(
      ContainerId container, HostName asked, Set<InetAddress> addresses, Instant expiry)
      throws EgressException {
    Objects.requireNonNull(asked, "asked");
    Objects.requireNonNull(expiry, "expiry");
    Set<InetAddress> granted = Set.copyOf(addresses);
    Optional<LiveAttachment> attachment = registry.live(container);
    if (attachment.isEmpty()) {
      throw new EgressException("container " + container + " is not attached; nothing granted");
    }
    attachment.get().grant(asked, granted, expiry);
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
    steps.checkPolicy(container, policy);
    Resolutions resolutions = steps.resolve(container.id(), policy.hostNames());
    return backend.preview(
        backend.ruleSetName(container.id()),
        EnforcementPlan.of(policy, container, resolutions, steps.dnsFilter));
  }

  @Override
  public ReconcileResult reconcile(Set<ContainerId> liveContainerIds) throws EgressException {
    registry.checkOpen();
    steps
        .ensurePrepared(); // a launcher reconciles at start: the guard must be up before containers
    // run
    registry.forgetForeign();
    Set<ContainerId> liveIds = Set.copyOf(liveContainerIds);
    List<String> failures = new ArrayList<>();
    Set<Subject.Removable> removed = new LinkedHashSet<>();
    Set<ContainerId> repaired = new LinkedHashSet<>();

    removed.addAll(steps.retryRemovals(failures));
    for (Attachment attachment : attachments()) {
      if (!liveIds.contains(attachment.container().id())) {
        try {
          attachment.detach();
          removed.add(Subject.container(attachment.container().id()));
        } catch (EgressException e) {
          failures.add(BackendSteps.describe(e));
        }
      }
    }

    // One read finds the rule sets installed and serves the comparison of the live ones, unless
    // removals below change the table: reading a large table is most of a reconcile's time.
    FirewallBackend.Installed rules = readInstalled();
    Map<RuleSetName, List<InetAddress>> installed = rules.installed();
    boolean removedOrphans = false;
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
      removedOrphans = true;
      try {
        steps.retryRemoval(name, removal.get());
        removed.add(removal.get().subject);
      } catch (EgressException e) {
        steps.scheduleRetries();
        failures.add(BackendSteps.describe(e));
      }
    }

    if (removedOrphans) {
      rules = readInstalled();
    }
    for (LiveAttachment attachment : registry.attachments()) {
      try {
        boolean reinstalled =
            installed.containsKey(attachment.name)
                ? attachment.repairIfDrifted(rules)
                : attachment.reinstall();
        if (reinstalled) {
          repaired.add(attachment.container().id());
          steps.emit(attachment.reinstalled());
        }
      } catch (EgressException e) {
        failures.add(BackendSteps.describe(e));
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
   * What is installed, read once for a whole check; when that read fails, each rule set is read on
   * its own, and one that cannot be read is reinstalled.
   */
  private FirewallBackend.Installed readInstalled() {
    try {
      return backend.readInstalled();
    } catch (EgressException e) {
      log.warn("cannot read the installed rule sets at once: {}", BackendSteps.describe(e));
      return FirewallBackend.Installed.eachTime(backend);
    }
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
    // One read serves the host check and every attachment; read again only after a repair.
    FirewallBackend.Installed rules = readInstalled();
    try {
      List<String> problems = rules.hostProblems();
      if (!problems.isEmpty()) {
        boolean repaired;
        try {
          steps.prepareAgain();
          rules = readInstalled();
          repaired = rules.hostProblems().isEmpty();
        } catch (EgressException e) {
          repaired = false;
        }
        for (String problem : problems) {
          findings.add(
              new EgressEvent.DriftDetected(
                  steps.clock.instant(), Subject.host(), problem, repaired));
        }
      }
    } catch (EgressException e) {
      // What cannot be read may be missing: reload the hook (idempotent), report it unrepaired.
      try {
        steps.prepareAgain();
      } catch (EgressException again) {
        log.warn("cannot reload the parent hook: {}", BackendSteps.describe(again));
      }
      rules = readInstalled();
      findings.add(
          new EgressEvent.DriftDetected(
              steps.clock.instant(),
              Subject.host(),
              "host check failed: " + BackendSteps.describe(e),
              false));
    }
    for (LiveAttachment liveAttachment : registry.attachments()) {
      try {
        if (liveAttachment.repairIfDrifted(rules)) {
          findings.add(liveAttachment.reinstalled());
        }
      } catch (EgressException e) {
        findings.add(
            new EgressEvent.DriftDetected(
                steps.clock.instant(),
                Subject.container(liveAttachment.container().id()),
                "rule set "
                    + liveAttachment.name
                    + " is missing or altered and could not be"
                    + " reinstalled: "
                    + BackendSteps.describe(e),
                false));
      }
    }
    findings.forEach(steps::emit);
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
    for (LiveAttachment attachment : registry.attachments()) {
      attachment.stopRefreshing();
      attachment.revokeAllGrantsAtClose();
    }
    if (ownsScheduler) {
      scheduler.shutdownNow();
    }
    backend.close();
  }

  private void healthCheckQuietly() {
    try {
      checkHealth();
    } catch (RuntimeException e) {
      log.error("health check failed", e);
    }
  }

  private static ScheduledExecutorService newDaemonScheduler() {
    return Executors.newSingleThreadScheduledExecutor(
        runnable -> {
          Thread thread = new Thread(runnable, "egress-enforcer");
          thread.setDaemon(true);
          return thread;
        });
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
