package dev.egress.nftables;

import dev.egress.audit.AuditedLifecycle;
import dev.egress.audit.AuditedLifecycleBuilder;
import dev.egress.audit.NflogGroups;
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
import dev.egress.enforcer.TrafficCounters;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The Linux {@link EgressEnforcer} on nftables: the shared lifecycle ({@link RulesetEnforcer}) over
 * an {@link NftBackend}. Each attach resolves the policy's names and loads the container's rules in
 * one {@code nft -f -} transaction; detach removes them and deletes the container's tracked
 * connections. Link-local sources arriving on the interfaces where attached containers live are
 * refused: no policy names them (see {@link Builder#procNet}).
 *
 * <pre>{@code
 * EgressEnforcer enforcer = NftEgressEnforcer.builder()
 *     .resolver(resolver)
 *     .guard(new NftGuard(List.of("docker0"), List.of(IpNetwork.parse("172.17.0.0/16")), true))
 *     .build();
 * }</pre>
 *
 * <p>Built with a {@link Builder#dnsFilter DNS filter} it takes policies that say {@code dns
 * filter} or name wildcard hosts, and is the filter's {@link FilteredAttachments}: such a
 * container's TCP and UDP port-53 traffic, to whatever address, is redirected to the filter (DNAT
 * in the table's {@code dns} chain at prerouting priority {@code dstnat - 10}, before Docker's DNAT
 * at {@code dstnat}), and what the filter grants goes into the container's host sets as elements
 * with a timeout (the answer's TTL plus grace), one transaction per grant through a long-lived
 * {@code nft -i} (killed by {@link #close}), which the kernel drops at their end. Without a filter
 * such policies are refused with {@link dev.egress.enforcer.UnsupportedPolicyException}.
 *
 * <p>Thread-safety, blocking and failure behaviour are those of {@link EgressEnforcer} and {@link
 * RulesetEnforcer}. Needs root (or CAP_NET_ADMIN), {@code nft} and {@code conntrack}.
 */
public final class NftEgressEnforcer implements EgressEnforcer, FilteredAttachments {
  private final AuditedLifecycle<NflogReaders> audited;
  private final RulesetEnforcer lifecycle;

  private NftEgressEnforcer(AuditedLifecycle<NflogReaders> audited) {
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
   * See {@link EgressEnforcer#counters}: one {@code nft list table}. Allowed counts the container's
   * own packets through its chain's {@code accept} rules (those it sends on connections it opened
   * included, not the replies); refused counts what its chain sends to {@code deny}.
   */
  @Override
  public Map<ContainerId, TrafficCounters> counters() throws EgressException {
    return lifecycle.counters();
  }

  /**
   * What {@link #attach} would load for {@code container} under {@code policy} now, without running
   * nft: the table, its base chains and guard (which the first attach loads), then the container's
   * chain, sets and dispatch elements, as one {@code nft -f -} script. The container's links, which
   * an attach learns from the kernel's routes, are left out. See {@link RulesetEnforcer#preview}.
   */
  public Preview preview(ContainerEndpoint container, EgressPolicy policy) throws EgressException {
    return lifecycle.preview(container, policy);
  }

  @Override
  public ReconcileResult reconcile(Set<ContainerId> liveContainerIds) throws EgressException {
    return lifecycle.reconcile(liveContainerIds);
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

  @Override
  public void grant(
      ContainerId container, HostName asked, Set<InetAddress> addresses, Instant expiry)
      throws EgressException {
    audited.grant(container, asked, addresses, expiry);
  }

  /** See {@link RulesetEnforcer#checkHealth()}. */
  public List<EgressEvent.DriftDetected> checkHealth() {
    return lifecycle.checkHealth();
  }

  /** Stops the audit readers (if any) after the lifecycle's close. */
  @Override
  public void close() {
    audited.close();
  }

  /**
   * Collaborators of an {@link NftEgressEnforcer}: those of every enforcer ({@link
   * LifecycleBuilder}: resolver, listener, clock, scheduler, retry delay, health interval), the
   * audit trail's ({@link AuditedLifecycleBuilder#audit}) and nftables' own. Only the resolver is
   * required. Each setter checks its argument at once.
   *
   * <p>With {@link #audit}, the {@link #nflogGroups NFLOG groups} are read by tcpdump, one process
   * per group, from {@link #build} to {@link NftEgressEnforcer#close}.
   */
  public static final class Builder extends AuditedLifecycleBuilder<Builder> {
    private ProcessRunner runner = new SystemProcessRunner();
    private List<String> nftCommand = List.of("nft");
    private List<String> conntrackCommand = List.of("conntrack");
    private Duration timeout = Duration.ofSeconds(10);
    private Path procNet = Path.of("/proc/net");
    private String table = "egress";
    private NftGuard guard = NftGuard.none();
    private NflogGroups nflogGroups = NflogGroups.defaults();
    private List<String> tcpdumpCommand = List.of("tcpdump");

    private Builder() {}

    @Override
    protected Builder self() {
      return this;
    }

    @Override
    protected String enforcerName() {
      return "the nftables enforcer";
    }

    /**
     * Runs nft and conntrack; by default a {@link SystemProcessRunner}. Tests put fake programs
     * here. Loads are all-or-nothing only if the runner writes a program's whole standard input
     * before starting it, as {@link SystemProcessRunner} does.
     */
    public Builder processRunner(ProcessRunner runner) {
      this.runner = Objects.requireNonNull(runner, "runner");
      return this;
    }

    /**
     * The command that runs nft, before its arguments; default {@code nft} from PATH. For example
     * {@code [sudo, -n, /usr/sbin/nft]}, or {@code [ip, netns, exec, NS, nft]} for a namespace.
     */
    public Builder nftCommand(List<String> command) {
      this.nftCommand = nonEmptyCommand(command, "nft");
      return this;
    }

    /** The command that runs conntrack, before its arguments; default {@code conntrack}. */
    public Builder conntrackCommand(List<String> command) {
      this.conntrackCommand = nonEmptyCommand(command, "conntrack");
      return this;
    }

    /** How long one nft or conntrack call may take before it is killed; default 10 s. */
    public Builder commandTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("the command timeout must be positive, got " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /**
     * Where the kernel's routes are read to learn on which interface each attached container lives
     * (its link-local traffic is refused there); default {@code /proc/net}, this process's network
     * namespace. When nft runs in another namespace ({@code ip netns exec}), {@code /proc/PID/net}
     * of a process there.
     */
    public Builder procNet(Path directory) {
      this.procNet = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /** The name of the enforcer's own {@code inet} table; default {@code egress}. */
    public Builder table(String table) {
      new NftRenderer(table); // validates the name now rather than at the first attach
      this.table = table;
      return this;
    }

    /** What unattached traffic to reject; default none (strongly recommended: set one). */
    public Builder guard(NftGuard guard) {
      this.guard = Objects.requireNonNull(guard, "guard");
      return this;
    }

    /**
     * The NFLOG groups that refusals are logged to when the policy ({@code log denied}) or the
     * guard asks for it, one per reason; default {@link NflogGroups#defaults()}.
     */
    public Builder nflogGroups(NflogGroups groups) {
      this.nflogGroups = Objects.requireNonNull(groups, "groups");
      return this;
    }

    /**
     * The command that runs tcpdump for the audit trail, before its arguments; default {@code
     * tcpdump}. In a namespace: {@code [ip, netns, exec, NS, tcpdump]}.
     */
    public Builder tcpdumpCommand(List<String> command) {
      this.tcpdumpCommand = nonEmptyCommand(command, "tcpdump");
      return this;
    }

    /**
     * @throws IllegalStateException if no resolver was given, or an audit trail was asked for and
     *     its readers could not be started (tcpdump missing, no permission)
     */
    public NftEgressEnforcer build() {
      NftCommand command = new NftCommand(runner, nftCommand, conntrackCommand, timeout);
      NftBackend backend =
          new NftBackend(
              command,
              table,
              guard,
              procNet,
              nflogGroups,
              configuredDnsFilter(),
              configuredClock());
      return new NftEgressEnforcer(
          buildAuditedLifecycle(
              backend, log -> NflogReaders.start(tcpdumpCommand, nflogGroups, log)));
    }
  }
}
