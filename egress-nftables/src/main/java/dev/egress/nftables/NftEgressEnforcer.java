package dev.egress.nftables;

import dev.egress.core.LifecycleBuilder;
import dev.egress.core.Preview;
import dev.egress.core.RulesetEnforcer;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.policy.EgressPolicy;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
 * <p>Thread-safety, blocking and failure behaviour are those of {@link EgressEnforcer} and {@link
 * RulesetEnforcer}. Wildcard host names are refused with {@link
 * dev.egress.enforcer.UnsupportedPolicyException}. Needs root (or CAP_NET_ADMIN), {@code nft} and
 * {@code conntrack}.
 */
public final class NftEgressEnforcer implements EgressEnforcer {
  private final RulesetEnforcer lifecycle;

  private NftEgressEnforcer(RulesetEnforcer lifecycle) {
    this.lifecycle = lifecycle;
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
  public Optional<Attachment> attachmentHolding(InetAddress source) {
    return lifecycle.attachmentHolding(source);
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

  /** See {@link RulesetEnforcer#checkHealth()}. */
  public List<EgressEvent.DriftDetected> checkHealth() {
    return lifecycle.checkHealth();
  }

  @Override
  public void close() {
    lifecycle.close();
  }

  /**
   * Collaborators of an {@link NftEgressEnforcer}: those of every enforcer ({@link
   * LifecycleBuilder}: resolver, listener, clock, scheduler, retry delay, health interval) and
   * nftables' own. Only the resolver is required. Each setter checks its argument at once.
   */
  public static final class Builder extends LifecycleBuilder<Builder> {
    private ProcessRunner runner = new SystemProcessRunner();
    private List<String> nftCommand = List.of("nft");
    private List<String> conntrackCommand = List.of("conntrack");
    private Duration timeout = Duration.ofSeconds(10);
    private Path procNet = Path.of("/proc/net");
    private String table = "egress";
    private NftGuard guard = NftGuard.none();

    private Builder() {}

    @Override
    protected Builder self() {
      return this;
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
      this.nftCommand = nonEmpty(command, "nft");
      return this;
    }

    /** The command that runs conntrack, before its arguments; default {@code conntrack}. */
    public Builder conntrackCommand(List<String> command) {
      this.conntrackCommand = nonEmpty(command, "conntrack");
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

    private static List<String> nonEmpty(List<String> command, String what) {
      if (command.isEmpty()) {
        throw new IllegalArgumentException("the " + what + " command is empty");
      }
      return List.copyOf(command);
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
     * @throws IllegalStateException if no resolver was given
     */
    public NftEgressEnforcer build() {
      NftCommand command = new NftCommand(runner, nftCommand, conntrackCommand, timeout);
      return new NftEgressEnforcer(buildLifecycle(new NftBackend(command, table, guard, procNet)));
    }
  }
}
