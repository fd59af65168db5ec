package dev.egress.examples.launcher;

import dev.egress.container.ContainerCliException;
import dev.egress.container.ContainerInfo;
import dev.egress.container.ContainerRunSpec;
import dev.egress.container.ContainerRuntime;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.process.ProcessResult;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Launches containers, one per group session, each under its group's egress policy, with a {@link
 * ContainerRuntime}: Apple's {@code container} CLI or Docker. The enforcer is any {@link
 * EgressEnforcer}; the launcher does not know which.
 *
 * <p>Why one class of this size: launch, stop, the start-up sweep and maintain share one table of
 * containers and its lock, and the order of their steps (attach before start, stop before detach)
 * is the class's point; a split would put that order across classes.
 *
 * <p><b>Launch</b> ({@link #launch}): create the container (name {@code PREFIX-GROUP-MILLIS},
 * labels {@value #LAUNCHER_LABEL} and {@value #GROUP_LABEL}) → poll the runtime's inspect until it
 * reports the container's addresses (bounded) → {@link EgressEnforcer#attach} with the group's
 * current policy → start it → optional {@link SelfCheck} → return a {@link ManagedContainer}, the
 * only way to hand the container work. Docker creates a container stopped, with its address chosen,
 * so it starts under its policy; Apple's CLI starts it on create. If any step fails, the container
 * is stopped, its rules removed, and a {@link LaunchException} thrown: it never gets work.
 *
 * <p><b>Stop</b>: stop the container, then detach (rules outlive the container by a moment, never
 * the reverse). A container that exits by itself is noticed by {@link #maintain()}.
 *
 * <p><b>Start-up</b> ({@link #start()}): containers carrying this launcher's label that this
 * instance did not launch — left by a launcher that crashed — are stopped, and the enforcer drops
 * rules of containers that no longer run ({@link EgressEnforcer#reconcile}).
 *
 * <p><b>The start-up window</b> (Apple's CLI only; Docker has none). Between {@code container run}
 * and {@code attach} the container runs without its policy. With a {@link ContainerNetwork} and the
 * enforcer's guard set to its subnets, the guard blocks it during that window; on the default
 * network nothing does, and whatever the image's entrypoint does before its work arrives is
 * unrestricted. So a launcher without a managed network is built only when asked for by name:
 * {@link Builder#acceptUnguardedStartupWindow()}.
 *
 * <p>Thread-safe: several groups may launch and stop at once. Every method blocks on CLI and
 * enforcer calls. One launcher per {@code PREFIX} on a host: a second one would stop the first
 * one's containers at start-up.
 */
public final class Launcher implements AutoCloseable {
  /** The label whose value is the launcher's prefix; start-up reconciliation looks for it. */
  public static final String LAUNCHER_LABEL = "dev.egress.launcher";

  /** The label holding the container's group. */
  public static final String GROUP_LABEL = "dev.egress.group";

  private final ContainerRuntime runtime;
  private final EgressEnforcer enforcer;
  private final PolicyRegistry policies;
  private final String prefix;
  private final String image;
  private final @Nullable ContainerNetwork network;
  private final @Nullable SelfCheck selfCheck;
  private final List<InetAddress> containerDns;
  private final Duration addressTimeout;
  private final Duration pollInterval;
  private final Clock clock;
  private final LauncherListener listener;

  /** Held shared while attaching, exclusively while reloading: no attach uses a stale policy. */
  private final ReadWriteLock policyLock = new ReentrantReadWriteLock();

  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private long lastStamp;
  private volatile boolean started;

  /** One container this instance launched, from {@code container run} until it is gone. */
  private static final class Session {
    final String id;
    final String group;
    volatile @Nullable Attachment attachment;
    volatile @Nullable ManagedContainer handle;
    volatile boolean launching = true;
    boolean terminated; // guarded by this

    Session(String id, String group) {
      this.id = id;
      this.group = group;
    }
  }

  private Launcher(Builder builder, String image) {
    this.runtime = builder.runtime;
    this.enforcer = builder.enforcer;
    this.policies = builder.policies;
    this.prefix = builder.prefix;
    this.image = image;
    this.network = builder.network;
    this.selfCheck = builder.selfCheck;
    this.containerDns =
        builder.containerDns.isEmpty()
            ? enforcer.dnsFilter().map(List::of).orElse(List.of())
            : List.copyOf(builder.containerDns);
    this.addressTimeout = builder.addressTimeout;
    this.pollInterval = builder.pollInterval;
    this.clock = builder.clock;
    this.listener = builder.listener;
  }

  public static Builder builder(
      ContainerRuntime runtime, EgressEnforcer enforcer, PolicyRegistry policies) {
    return new Builder(runtime, enforcer, policies);
  }

  /**
   * What {@link #start()} cleaned up.
   *
   * @param orphansStopped containers of this launcher's label that were stopped
   * @param enforcer what the enforcer removed and repaired
   */
  public record StartReport(List<String> orphansStopped, ReconcileResult enforcer) {
    public StartReport {
      orphansStopped = List.copyOf(orphansStopped);
    }
  }

  /**
   * Creates the managed network if configured and missing, stops orphans of a previous launcher and
   * has the enforcer remove rules of containers that no longer run. Must be called once before
   * {@link #launch}.
   *
   * @throws LaunchException if the network cannot be created, the containers cannot be listed, or
   *     the enforcer cannot reconcile; nothing may be launched then
   */
  public StartReport start() throws LaunchException, InterruptedException {
    policies
        .problems()
        .forEach((group, problem) -> emit(new LauncherEvent.PolicyRejected(group, problem)));
    try {
      if (network != null) {
        runtime.ensureNetwork(network.name(), network.subnet(), network.ipv6Subnet());
      }
      List<String> stopped = new ArrayList<>();
      for (ContainerInfo container : runtime.listRunning()) {
        if (prefix.equals(container.labels().get(LAUNCHER_LABEL))
            && !sessions.containsKey(container.id())) {
          try {
            runtime.stop(container.id());
            stopped.add(container.id());
            emit(new LauncherEvent.OrphanStopped(container.id()));
          } catch (ContainerCliException e) {
            emit(
                new LauncherEvent.CleanupFailed(
                    container.id(),
                    "orphan could not be stopped; its"
                        + " rules stay in place: "
                        + e.getMessage()));
          }
        }
      }
      // Listed again after the stops, so that rules of an orphan that would not stop stay.
      Set<ContainerId> live = new HashSet<>();
      for (ContainerInfo container : runtime.listRunning()) {
        // An id that cannot be a ContainerId was never attached: it has no rules to keep.
        if (isContainerId(container.id())) {
          live.add(ContainerId.of(container.id()));
        }
      }
      ReconcileResult result = enforcer.reconcile(live);
      started = true;
      return new StartReport(stopped, result);
    } catch (ContainerCliException | EgressException e) {
      throw new LaunchException("launcher start-up failed: " + e.getMessage(), e);
    }
  }

  /**
   * Launches a container for {@code group}: see the class comment for the steps. {@code customise}
   * adds mounts, environment and the command to the run spec; the launcher sets the name, image,
   * labels and network itself.
   *
   * @return the container, running under the group's policy
   * @throws IllegalArgumentException if the group name is invalid or the group has no policy file
   *     (nothing was started)
   * @throws IllegalStateException if {@link #start()} has not run
   * @throws LaunchException if the container could not be started under its policy; it has been
   *     stopped and its rules removed (or a {@link LauncherEvent.CleanupFailed} says what is left)
   * @throws InterruptedException if interrupted; the container is stopped first
   */
  public ManagedContainer launch(String group, Consumer<ContainerRunSpec.Builder> customise)
      throws LaunchException, InterruptedException {
    if (!started) {
      throw new IllegalStateException("call start() before launching containers");
    }
    Groups.check(group);
    policies.policyFor(group);
    String id = prefix + "-" + group + "-" + stamp();
    ContainerRunSpec.Builder spec = ContainerRunSpec.builder(id, image);
    customise.accept(spec);
    spec.label(LAUNCHER_LABEL, prefix)
        .label(GROUP_LABEL, group)
        .network(network == null ? null : network.name());
    containerDns.forEach(spec::dns);
    ContainerRunSpec runSpec = spec.build();

    Session session = new Session(id, group);
    sessions.put(id, session);
    try {
      runtime.create(runSpec);
      ContainerEndpoint endpoint = endpointOf(waitForAddress(id));
      Attachment attachment = attach(session, endpoint);
      runtime.start(id);
      checkAddressesAfterStart(id, endpoint);
      checkEnforcement(session, attachment);
      ManagedContainer handle = new ManagedContainer(this, group, attachment);
      session.handle = handle;
      session.launching = false;
      emit(new LauncherEvent.Launched(id, group, endpoint));
      return handle;
    } catch (InterruptedException e) {
      abort(session, "interrupted");
      Thread.currentThread().interrupt();
      throw e;
    } catch (ContainerCliException | EgressException | LaunchStepFailed | RuntimeException e) {
      String reason = e.getMessage() == null ? e.toString() : e.getMessage();
      if (e instanceof LaunchStepFailed failed && failed.leak) {
        emit(new LauncherEvent.EnforcementFailure(id, group, reason));
      }
      abort(session, reason);
      throw new LaunchException(
          "container " + id + " of group " + group + " was stopped before it got work: " + reason,
          e);
    }
  }

  /**
   * Rereads the policy files and updates the attachments of the changed groups' containers. A
   * container whose update fails is stopped (its old policy would no longer be its group's).
   *
   * @return the changes applied
   * @throws IOException if the policy directory cannot be read; nothing changes
   */
  public List<PolicyRegistry.Change> reloadPolicies() throws IOException, InterruptedException {
    policyLock.writeLock().lock();
    try {
      List<PolicyRegistry.Change> changes = policies.reload();
      for (PolicyRegistry.Change change : changes) {
        String problem = change.problem();
        if (problem != null) {
          emit(new LauncherEvent.PolicyRejected(change.group(), problem));
        }
        int updated = 0;
        for (Session session : sessions.values()) {
          Attachment attachment = session.attachment;
          if (!session.group.equals(change.group()) || attachment == null) {
            continue;
          }
          try {
            attachment.update(change.policy());
            updated++;
          } catch (IllegalStateException detachedMeanwhile) {
            // The container stopped while we reloaded; nothing to update.
          } catch (EgressException e) {
            emit(
                new LauncherEvent.CleanupFailed(
                    session.id, "policy update failed, stopping the container: " + e.getMessage()));
            terminate(session);
          }
        }
        emit(new LauncherEvent.PolicyReloaded(change.group(), updated));
      }
      return changes;
    } finally {
      policyLock.writeLock().unlock();
    }
  }

  /**
   * Notices containers that exited by themselves and removes their rules, and retries stopping
   * containers whose earlier stop failed. Run it periodically, together with {@link
   * #reloadPolicies()} (see {@link #maintain()}).
   *
   * @throws LaunchException if the running containers cannot be listed
   */
  public void sweepExited() throws LaunchException, InterruptedException {
    Set<String> running;
    try {
      running = runtime.listRunning().stream().map(ContainerInfo::id).collect(Collectors.toSet());
    } catch (ContainerCliException e) {
      throw new LaunchException("cannot list containers: " + e.getMessage(), e);
    }
    for (Session session : sessions.values()) {
      if (session.launching) {
        continue;
      }
      boolean exited = !running.contains(session.id);
      boolean abandoned = session.handle == null;
      if ((exited || abandoned) && terminate(session) && exited) {
        emit(new LauncherEvent.Exited(session.id, session.group));
      }
    }
  }

  /**
   * {@link #reloadPolicies()} then {@link #sweepExited()}: the periodic task, for a scheduled
   * executor. Failures are reported, as events, not thrown, so that the schedule keeps running.
   */
  public void maintain() {
    try {
      reloadPolicies();
      sweepExited();
    } catch (IOException | LaunchException e) {
      emit(new LauncherEvent.CleanupFailed("", "maintenance failed: " + e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The containers this launcher runs under their policies now. */
  public List<ManagedContainer> containers() {
    List<ManagedContainer> result = new ArrayList<>();
    for (Session session : sessions.values()) {
      ManagedContainer handle = session.handle;
      if (handle != null) {
        result.add(handle);
      }
    }
    return result;
  }

  /**
   * Stops every container this launcher runs and removes their rules; the enforcer stays open.
   * Containers that would not stop are reported ({@link LauncherEvent.CleanupFailed}) and keep
   * their rules. If interrupted, it still tries every container, then restores the interrupt.
   */
  @Override
  public void close() {
    boolean interrupted = false;
    for (Session session : sessions.values()) {
      try {
        if (terminate(session)) {
          emit(new LauncherEvent.Stopped(session.id, session.group));
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  void stop(ManagedContainer container) throws LaunchException, InterruptedException {
    Session session = sessions.get(container.id());
    // A null handle marks this container after a failed stop: stopping again retries.
    if (session == null || (session.handle != container && session.handle != null)) {
      return;
    }
    if (!terminate(session)) {
      throw new LaunchException(
          "container "
              + container.id()
              + " could not be stopped; its"
              + " rules stay in place. Try '"
              + runtime.command()
              + " stop "
              + container.id()
              + "'");
    }
    emit(new LauncherEvent.Stopped(session.id, session.group));
  }

  boolean isManaging(ManagedContainer container) {
    Session session = sessions.get(container.id());
    return session != null && session.handle == container;
  }

  ContainerRuntime runtime() {
    return runtime;
  }

  private synchronized long stamp() {
    lastStamp = Math.max(clock.millis(), lastStamp + 1);
    return lastStamp;
  }

  private ContainerInfo waitForAddress(String id)
      throws ContainerCliException, LaunchStepFailed, InterruptedException {
    // Counted in polls, not wall time: a loaded host slows the polls down instead of cutting the
    // wait short, so "no address" always means addressTimeout / pollInterval polls saw none.
    long polls = addressTimeout.toMillis() / Math.max(1, pollInterval.toMillis()) + 1;
    for (long poll = 1; ; poll++) {
      Optional<ContainerInfo> found = runtime.inspect(id);
      if (found.isEmpty()) {
        throw new LaunchStepFailed(
            "it disappeared before it had an address (it exited at once;"
                + " run it without --rm and see '"
                + runtime.command()
                + " logs "
                + id
                + "')",
            false);
      }
      ContainerInfo info = found.get();
      // A created container (Docker) reports the addresses it will have once started.
      if ((info.isRunning() || info.state().equals("created")) && !info.addresses().isEmpty()) {
        return info;
      }
      if (info.state().equals("stopped")) {
        throw new LaunchStepFailed("it stopped before it had an address", false);
      }
      if (poll >= polls) {
        throw new LaunchStepFailed(
            "it had no IP address after "
                + addressTimeout.toMillis()
                + " ms ("
                + polls
                + " polls; state '"
                + info.state()
                + "'; is the container system"
                + " healthy? raise addressTimeout if the host is slow)",
            false);
      }
      Thread.sleep(pollInterval.toMillis());
    }
  }

  /**
   * A runtime that created the container stopped must start it with the addresses the policy was
   * attached to: an address it added at start would have no rules.
   */
  private void checkAddressesAfterStart(String id, ContainerEndpoint endpoint)
      throws ContainerCliException, LaunchStepFailed, InterruptedException {
    if (runtime.startsOnCreate()) {
      return;
    }
    Optional<ContainerInfo> started = runtime.inspect(id);
    if (started.isEmpty() || !started.get().isRunning()) {
      throw new LaunchStepFailed("it stopped as soon as it started", false);
    }
    Set<InetAddress> now = new HashSet<>(started.get().addresses());
    if (!now.equals(new HashSet<>(endpoint.addresses()))) {
      throw new LaunchStepFailed(
          "it started with the addresses "
              + now.stream().map(IpAddresses::format).sorted().toList()
              + ", not the "
              + endpoint.addresses().stream().map(IpAddresses::format).sorted().toList()
              + " its policy was attached to",
          false);
    }
  }

  private ContainerEndpoint endpointOf(ContainerInfo info) throws LaunchStepFailed {
    if (network != null) {
      for (InetAddress address : info.addresses()) {
        if (!network.covers(address)) {
          throw new LaunchStepFailed(
              "its address "
                  + IpAddresses.format(address)
                  + " lies outside"
                  + " the managed network "
                  + network
                  + ", where the enforcer's guard does not cover"
                  + " it"
                  + (IpAddresses.isIpv6(address) && network.ipv6Subnet() == null
                      ? " (give the ContainerNetwork its IPv6 prefix, and the guard the same prefix)"
                      : ""),
              false);
        }
      }
    }
    return new ContainerEndpoint(
        ContainerId.of(info.id()), info.addresses(), info.gateway().orElse(null));
  }

  private static boolean isContainerId(String id) {
    try {
      ContainerId.of(id);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private Attachment attach(Session session, ContainerEndpoint endpoint) throws EgressException {
    policyLock.readLock().lock();
    try {
      EgressPolicy policy = policies.policyFor(session.group);
      Attachment attachment = enforcer.attach(endpoint, policy);
      session.attachment = attachment;
      return attachment;
    } finally {
      policyLock.readLock().unlock();
    }
  }

  private void checkEnforcement(Session session, Attachment attachment)
      throws ContainerCliException, LaunchStepFailed, InterruptedException {
    SelfCheck check = selfCheck;
    if (check == null) {
      return;
    }
    String mismatch = check.mismatch(attachment.policy(), attachment.container().gateway());
    if (mismatch != null) {
      throw new LaunchStepFailed(mismatch, false);
    }
    SelfCheck.Probe denied = check.denied();
    ProcessResult deniedResult =
        runtime.exec(session.id, check.command().connect(denied.address(), denied.port()));
    if (deniedResult.succeeded()) {
      throw new LaunchStepFailed(
          "self-check connected to "
              + denied
              + ", which the policy denies:"
              + " the enforcer does not block this container's traffic",
          true);
    }
    SelfCheck.Probe allowed = check.allowed();
    ProcessResult allowedResult =
        runtime.exec(session.id, check.command().connect(allowed.address(), allowed.port()));
    if (!allowedResult.succeeded()) {
      throw new LaunchStepFailed(
          "self-check could not connect to "
              + allowed
              + ", which the"
              + " policy allows, so the check proves nothing ("
              + allowedResult.summary()
              + ")",
          false);
    }
  }

  /** Stops a container whose launch failed and removes its rules; reports what it could not do. */
  private void abort(Session session, String reason) {
    boolean interrupted = Thread.interrupted();
    try {
      terminate(session);
    } catch (InterruptedException e) {
      interrupted = true;
      emit(
          new LauncherEvent.CleanupFailed(
              session.id,
              "interrupted while stopping; it has no"
                  + " work, and start-up reconciliation will stop it"));
    } finally {
      session.launching = false;
      emit(new LauncherEvent.LaunchFailed(session.id, session.group, reason));
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Stops the container, then detaches. Returns false, leaving the rules and the session in place
   * for {@link #sweepExited()} to retry, if the container could not be stopped.
   */
  private boolean terminate(Session session) throws InterruptedException {
    synchronized (session) {
      if (session.terminated) {
        return true;
      }
      try {
        runtime.stop(session.id);
      } catch (ContainerCliException e) {
        session.handle = null;
        emit(
            new LauncherEvent.CleanupFailed(
                session.id,
                "could not be stopped; it keeps its"
                    + " rules (or, never attached, only what the guard allows) and gets no work: "
                    + e.getMessage()));
        return false;
      }
      session.terminated = true;
      sessions.remove(session.id, session);
      Attachment attachment = session.attachment;
      if (attachment != null) {
        try {
          attachment.detach();
        } catch (EgressException e) {
          emit(
              new LauncherEvent.CleanupFailed(
                  session.id,
                  "rules could not be removed; the" + " enforcer retries: " + e.getMessage()));
        }
      }
      return true;
    }
  }

  private void emit(LauncherEvent event) {
    try {
      listener.onEvent(event);
    } catch (RuntimeException ignored) {
      // A listener never changes what the launcher does.
    }
  }

  /** A launch step found the container unfit; {@code leak} marks an enforcement failure. */
  private static final class LaunchStepFailed extends Exception {
    private static final long serialVersionUID = 1L;
    final boolean leak;

    LaunchStepFailed(String message, boolean leak) {
      super(message);
      this.leak = leak;
    }
  }

  /** Configures a {@link Launcher}; each setter checks its argument at once. */
  public static final class Builder {
    private final ContainerRuntime runtime;
    private final EgressEnforcer enforcer;
    private final PolicyRegistry policies;
    private String prefix = "nanoclaw";
    private @Nullable String image;
    private @Nullable ContainerNetwork network;
    private boolean unguardedStartupWindowAccepted;
    private @Nullable SelfCheck selfCheck;
    private final List<InetAddress> containerDns = new ArrayList<>();
    private Duration addressTimeout = Duration.ofSeconds(30);
    private Duration pollInterval = Duration.ofMillis(250);
    private Clock clock = Clock.systemUTC();
    private LauncherListener listener = LauncherListener.NONE;

    private Builder(ContainerRuntime runtime, EgressEnforcer enforcer, PolicyRegistry policies) {
      this.runtime = Objects.requireNonNull(runtime, "runtime");
      this.enforcer = Objects.requireNonNull(enforcer, "enforcer");
      this.policies = Objects.requireNonNull(policies, "policies");
    }

    /** The image every container runs (required). */
    public Builder image(String reference) {
      this.image = Objects.requireNonNull(reference, "reference");
      return this;
    }

    /** The first part of container names and the value of {@value #LAUNCHER_LABEL}. */
    public Builder namePrefix(String namePrefix) {
      Groups.check(namePrefix);
      this.prefix = namePrefix;
      return this;
    }

    /** Runs containers on their own network (macOS 26+); see {@link ContainerNetwork}. */
    public Builder managedNetwork(ContainerNetwork managedNetwork) {
      this.network = Objects.requireNonNull(managedNetwork, "managedNetwork");
      return this;
    }

    /**
     * Accepts running containers on the default network, where no guard covers them: between {@code
     * container run} and the end of {@code attach} (the time the VM needs to report its address
     * plus one enforcer call) a container has <b>unrestricted network access</b>, and whatever its
     * image's entrypoint does in that time is neither blocked nor logged. Use it only where {@link
     * #managedNetwork} is impossible (macOS 15), with an entrypoint that stays idle until its work
     * arrives through {@link ManagedContainer}. Without this call, and without a managed network,
     * {@link #build()} refuses. With a managed network it changes nothing.
     */
    public Builder acceptUnguardedStartupWindow() {
      this.unguardedStartupWindowAccepted = true;
      return this;
    }

    /** Checks enforcement in each container before handing it out. */
    public Builder selfCheck(SelfCheck check) {
      this.selfCheck = Objects.requireNonNull(check, "check");
      return this;
    }

    /**
     * The resolvers every container is told to use ({@code --dns}), in order: name those the
     * policies' {@code dns} lines allow (the enforcer refuses port 53 to any other). Without it, an
     * enforcer built with a DNS filter gives its filter's address ({@link
     * EgressEnforcer#dnsFilter}); otherwise the runtime's default applies (Apple: the gateway;
     * Docker: the host's resolvers, behind its embedded DNS).
     */
    public Builder containerDns(List<InetAddress> resolvers) {
      containerDns.clear();
      resolvers.forEach(r -> containerDns.add(Objects.requireNonNull(r, "resolvers")));
      return this;
    }

    /**
     * How long a container may take to get its address; the default is 30 s. Counted as {@code
     * timeout / pollInterval} polls, so on a slow host the wait takes longer, never shorter.
     */
    public Builder addressTimeout(Duration timeout) {
      this.addressTimeout = positive(timeout, "addressTimeout");
      return this;
    }

    /** How often {@code container inspect} is polled for the address; the default is 250 ms. */
    public Builder pollInterval(Duration interval) {
      this.pollInterval = positive(interval, "pollInterval");
      return this;
    }

    /** The clock whose milliseconds end container names. */
    public Builder clock(Clock namingClock) {
      this.clock = Objects.requireNonNull(namingClock, "namingClock");
      return this;
    }

    public Builder listener(LauncherListener eventListener) {
      this.listener = Objects.requireNonNull(eventListener, "eventListener");
      return this;
    }

    /**
     * Builds the launcher; no CLI or enforcer call happens before {@link Launcher#start()}.
     *
     * @throws IllegalStateException if no image was set, or neither a managed network nor {@link
     *     #acceptUnguardedStartupWindow()} was
     */
    public Launcher build() {
      String reference = image;
      if (reference == null) {
        throw new IllegalStateException("set the image containers run: builder.image(\"...\")");
      }
      if (network == null && !unguardedStartupWindowAccepted) {
        throw new IllegalStateException(
            "without a managed network, containers run unrestricted"
                + " until they are attached: set builder.managedNetwork(...) and the enforcer's guard"
                + " to its subnets (macOS 26+), or, where that is impossible, accept the risk with"
                + " builder.acceptUnguardedStartupWindow()");
      }
      return new Launcher(this, reference);
    }

    private static Duration positive(Duration duration, String what) {
      if (duration.isNegative() || duration.isZero()) {
        throw new IllegalArgumentException(what + " must be positive, got " + duration);
      }
      return duration;
    }
  }
}
