package dev.egress.pf;

import dev.egress.audit.AuditedLifecycle;
import dev.egress.audit.AuditedLifecycleBuilder;
import dev.egress.audit.PflogReasons;
import dev.egress.audit.RefusalLog;
import dev.egress.core.LifecycleBuilder;
import dev.egress.core.Preview;
import dev.egress.core.RulesetEnforcer;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.FilteredAttachment;
import dev.egress.enforcer.FilteredAttachments;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The macOS enforcer: each attached container gets a pf anchor {@code PARENT/NAME} holding its
 * policy as {@code quick} rules keyed on its source addresses, loaded with one privileged {@code
 * pfctl} call; detach flushes the anchor and kills the container's states. See the README for the
 * anchor layout, the sudo set-up and every pfctl command it runs.
 *
 * <p>Built only explicitly, from its collaborators:
 *
 * <pre>{@code
 * PfEgressEnforcer enforcer = PfEgressEnforcer.builder()
 *     .resolver(resolver)
 *     .parentAnchor(ParentAnchor.defaults().guarding(network, true))
 *     .healthInterval(Duration.ofMinutes(1))
 *     .build();
 * }</pre>
 *
 * <p>Built with a {@link Builder#dnsFilter DNS filter} it takes policies that say {@code dns
 * filter} or name wildcard hosts, and is the filter's {@link FilteredAttachments}: such a
 * container's anchor redirects its TCP and UDP port 53, to whatever address, to the filter ({@code
 * rdr}, evaluated through the parent's {@code rdr-anchor "*"}), and each of its host names has a
 * table of its own that takes the filter's grants ({@code pfctl -T add}); the enforcer revokes a
 * grant when it ends ({@code -T delete}). Without a filter such policies are refused with {@link
 * dev.egress.enforcer.UnsupportedPolicyException}.
 *
 * <p>Thread-safe, blocking, with the guarantees of {@link EgressEnforcer}. Building runs no pfctl
 * call: {@link #reconcile} (which a launcher calls when it starts) and the first attach check that
 * pf is enabled, take an enable reference if it is not, and load the parent anchor with the guard.
 * {@link #close} leaves every rule in place and keeps that reference, so that pf goes on enforcing
 * them (released, the last reference switches pf off).
 */
public final class PfEgressEnforcer implements EgressEnforcer, FilteredAttachments {
  private final AuditedLifecycle<PflogReader> audited;
  private final RulesetEnforcer lifecycle;

  private PfEgressEnforcer(AuditedLifecycle<PflogReader> audited) {
    this.audited = audited;
    this.lifecycle = audited.lifecycle();
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public Attachment attach(ContainerEndpoint container, EgressPolicy policy)
      throws EgressException {
    return lifecycle.attach(container, policy);
  }

  @Override
  public List<Attachment> attachments() {
    return lifecycle.attachments();
  }

  @Override
  public Optional<InetAddress> dnsFilter() {
    return lifecycle.dnsFilter();
  }

  /**
   * See {@link EgressEnforcer#counters}: {@code pfctl -a PARENT -s Anchors}, then {@code pfctl -a
   * CHILD -v -s rules} per container anchor. Allowed counts the packets of the connections the
   * container's {@code pass} rules opened, both directions; refused what its {@code block} rules
   * refused.
   */
  @Override
  public Map<ContainerId, TrafficCounters> counters() throws EgressException {
    return lifecycle.counters();
  }

  @Override
  public Optional<FilteredAttachment> bySource(InetAddress source) {
    return lifecycle.bySource(source);
  }

  @Override
  public Optional<Instant> grantedUntil(
      ContainerId container, HostName asked, Set<InetAddress> addresses) {
    return lifecycle.grantedUntil(container, asked, addresses);
  }

  /**
   * See {@link FilteredAttachments#grant}: usually one {@code pfctl -T add} into the table of the
   * covering name; the enforcer revokes the grant ({@code -T delete}) once it ends, since pf tables
   * keep no per-entry end.
   */
  @Override
  public void grant(
      ContainerId container, HostName asked, Set<InetAddress> addresses, Instant expiry)
      throws EgressException {
    audited.grant(container, asked, addresses, expiry);
  }

  /**
   * What {@link #attach} would load for {@code container} under {@code policy} now, and the pfctl
   * command that would load it, without running pfctl: see {@link RulesetEnforcer#preview}.
   */
  public Preview preview(ContainerEndpoint container, EgressPolicy policy) throws EgressException {
    return lifecycle.preview(container, policy);
  }

  /**
   * As {@link EgressEnforcer#reconcile}, after making pf ready first (enabled, parent anchor and
   * guard loaded): a launcher calls this when it starts, so that the guard closes the managed
   * network before any container runs.
   */
  @Override
  public ReconcileResult reconcile(Set<ContainerId> liveContainerIds) throws EgressException {
    return lifecycle.reconcile(liveContainerIds);
  }

  /**
   * Checks pf once: enabled, {@code anchor "com.apple/*"} still in the main ruleset, the parent
   * anchor and every live container's anchor as loaded. Re-enables pf and reloads the parent or a
   * wiped or altered child; never touches the main ruleset (its finding says how to fix it). Each
   * finding also goes to the listener. Blocks for a few pfctl calls per container.
   *
   * @return the findings; empty when everything is as installed
   */
  public List<EgressEvent.DriftDetected> checkHealth() {
    return lifecycle.checkHealth();
  }

  /**
   * Whose removal failed and is retried in the background (see {@link
   * RulesetEnforcer#pendingRemovals}); their addresses stay reserved.
   */
  public Set<Subject.Removable> pendingRemovals() {
    return lifecycle.pendingRemovals();
  }

  /**
   * The audit trail's reader of {@code pflog0}, when the enforcer keeps one: whether it runs now
   * and how often it was started again after it died.
   */
  public Optional<AuditReader> auditReader() {
    return audited
        .readers()
        .map(reader -> new AuditReader(reader.isReading(), reader.restarts(), reader.unparsed()));
  }

  /**
   * The state of the audit trail's {@code tcpdump}.
   *
   * @param reading whether it runs now (false while it waits to be started again)
   * @param restarts how often it was started again after it died
   * @param unparsed lines it printed that named no refused packet of ours
   */
  public record AuditReader(boolean reading, long restarts, long unparsed) {}

  /** Stops the audit reader (if any) after the lifecycle's close. */
  @Override
  public void close() {
    audited.close();
  }

  /**
   * Collaborators of a {@link PfEgressEnforcer}: those of every enforcer ({@link LifecycleBuilder}:
   * resolver, listener, clock, scheduler, retry delay, health interval), the audit trail's ({@link
   * AuditedLifecycleBuilder#audit}) and pf's own. Only the resolver is required. Each setter checks
   * its argument at once.
   *
   * <p>With {@link #audit}, {@code pflog0} is created if missing ({@code ifconfig pflog0 create})
   * and read by one {@code tcpdump} from {@link #build} to {@link PfEgressEnforcer#close}, started
   * again when it dies (after {@link #auditRestartDelay}, doubling up to a minute). Needs root:
   * tcpdump and ifconfig run directly, since the sudo wrapper allows pfctl calls only.
   */
  public static final class Builder extends AuditedLifecycleBuilder<Builder> {
    private ProcessRunner runner = new SystemProcessRunner();
    private List<String> pfctlCommand = Pfctl.DEFAULT_COMMAND;
    private Duration pfctlTimeout = Duration.ofSeconds(10);
    private ParentAnchor parentAnchor = ParentAnchor.defaults();
    private List<String> tcpdumpCommand = List.of("/usr/sbin/tcpdump");
    private List<String> ifconfigCommand = List.of("/sbin/ifconfig");
    private Duration auditRestartDelay = Duration.ofSeconds(1);

    private Builder() {}

    @Override
    protected Builder self() {
      return this;
    }

    @Override
    protected String enforcerName() {
      return "the pf enforcer";
    }

    /** Runs pfctl; by default a {@link SystemProcessRunner}. Tests put a fake pfctl here. */
    public Builder processRunner(ProcessRunner runner) {
      this.runner = Objects.requireNonNull(runner, "runner");
      return this;
    }

    /**
     * The command that runs pfctl as root without prompting; default {@code sudo -n /sbin/pfctl}.
     */
    public Builder pfctlCommand(List<String> command) {
      this.pfctlCommand = nonEmptyCommand(command, "pfctl");
      return this;
    }

    /** How long one pfctl call may take before it is killed; default 10 s. */
    public Builder pfctlTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("the pfctl timeout must be positive, got " + timeout);
      }
      this.pfctlTimeout = timeout;
      return this;
    }

    /** Where container anchors live and which network the guard closes; default no guard. */
    public Builder parentAnchor(ParentAnchor parent) {
      this.parentAnchor = Objects.requireNonNull(parent, "parent");
      return this;
    }

    /** The command that runs tcpdump for the audit trail; default {@code /usr/sbin/tcpdump}. */
    public Builder tcpdumpCommand(List<String> command) {
      this.tcpdumpCommand = nonEmptyCommand(command, "tcpdump");
      return this;
    }

    /** The command that checks and creates {@code pflog0}; default {@code /sbin/ifconfig}. */
    public Builder ifconfigCommand(List<String> command) {
      this.ifconfigCommand = nonEmptyCommand(command, "ifconfig");
      return this;
    }

    /** How long to wait before the first restart of a dead audit reader; default 1 s. */
    public Builder auditRestartDelay(Duration delay) {
      if (delay.isNegative() || delay.isZero()) {
        throw new IllegalArgumentException("the restart delay must be positive, got " + delay);
      }
      this.auditRestartDelay = delay;
      return this;
    }

    /**
     * @throws IllegalStateException if no resolver was given, or an audit trail was asked for and
     *     {@code pflog0} could not be created or its reader not started (tcpdump missing, not root)
     */
    public PfEgressEnforcer build() {
      PfBackend backend =
          new PfBackend(
              new Pfctl(runner, pfctlCommand, pfctlTimeout), parentAnchor, configuredDnsFilter());
      return new PfEgressEnforcer(buildAuditedLifecycle(backend, this::startPflogReader));
    }

    private PflogReader startPflogReader(RefusalLog log) {
      ManagedNetwork guarded = parentAnchor.guard();
      return PflogReader.start(
          runner,
          ifconfigCommand,
          tcpdumpCommand,
          pfctlTimeout,
          auditRestartDelay,
          new PflogReasons(
              parentAnchor.path().value(), guarded == null ? List.of() : guarded.subnets()),
          log);
    }
  }
}
