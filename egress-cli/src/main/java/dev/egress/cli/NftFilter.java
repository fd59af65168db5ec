package dev.egress.cli;

import dev.egress.audit.NflogGroups;
import dev.egress.core.Preview;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.RuleSetName;
import dev.egress.nftables.NftBackend;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.EgressPolicy;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * nftables through nft and conntrack, in one table. The guard and the DNS filter are the
 * enforcer's: prepare reloads the base chains with both, and status compares them with both, so
 * neither a cleanup nor a status check takes a filtered container's port-53 redirect for drift or
 * drops it.
 */
final class NftFilter implements PacketFilter {
  private final CliHost host;
  private final NftOptions options;
  private final NftGuard guard;
  private final boolean guardKnown;
  private final @Nullable InetAddress dnsFilter;
  private final NftBackend backend;

  NftFilter(
      CliHost host,
      NftOptions options,
      NftGuard guard,
      boolean guardKnown,
      @Nullable InetAddress dnsFilter) {
    this.host = host;
    this.options = options;
    this.guard = guard;
    this.guardKnown = guardKnown;
    this.dnsFilter = dnsFilter;
    try {
      this.backend =
          new NftBackend(
              options.command(host.processes()),
              options.table(),
              guard,
              Path.of("/proc/net"),
              NflogGroups.defaults(),
              dnsFilter,
              Clock.systemUTC());
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: --table: " + e.getMessage());
    }
  }

  @Override
  public Backend kind() {
    return Backend.NFT;
  }

  @Override
  public String displayName() {
    return "nftables";
  }

  @Override
  public Optional<ParentAnchor> parentAnchor() {
    return Optional.empty();
  }

  @Override
  public Preview preview(NameResolver resolver, ContainerEndpoint container, EgressPolicy policy)
      throws EgressException {
    try (NftEgressEnforcer enforcer = builder(resolver).build()) {
      return enforcer.preview(container, policy);
    }
  }

  @Override
  public String loadNote(Preview preview) {
    return "# would be loaded with: "
        + preview.loadCommand()
        + " (the table and base chains by the first attach, then the container's rules by"
        + " its attach)";
  }

  @Override
  public List<Finding> doctor(@Nullable String network, boolean loggingAsked)
      throws InterruptedException {
    return new NftDoctor(host.processes(), options, backend).check();
  }

  @Override
  public Snapshot status() throws EgressException {
    List<InstalledRuleSet> ruleSets = new ArrayList<>();
    for (NftBackend.LoadedRuleSet loaded : backend.loaded()) {
      ruleSets.add(
          new InstalledRuleSet(
              loaded.name(),
              location(loaded.name()),
              loaded.addresses(),
              loaded.rules().size(),
              loaded.sets()));
    }
    // No table and no rule set is a host where nothing was attached yet, not drift.
    List<String> drift =
        ruleSets.isEmpty() && !backend.tableLoaded() ? List.of() : backend.hostProblems();
    return Snapshot.readingCounters(ruleSets, backend::counters, drift);
  }

  @Override
  public List<InstalledRuleSet> ruleSets() throws EgressException {
    List<InstalledRuleSet> installed = new ArrayList<>();
    backend
        .installed()
        .forEach(
            (name, addresses) ->
                installed.add(new InstalledRuleSet(name, location(name), addresses, 0, Map.of())));
    return installed;
  }

  @Override
  public RuleSetName ruleSetName(ContainerId container) {
    return backend.ruleSetName(container);
  }

  @Override
  public boolean guardKnown() {
    return guardKnown;
  }

  @Override
  public String hook() {
    return "the base chains of table inet " + options.table();
  }

  @Override
  public EgressEnforcer configuredEnforcer(NameResolver resolver) {
    return builder(resolver).noHealthChecks().build();
  }

  private NftEgressEnforcer.Builder builder(NameResolver resolver) {
    NftEgressEnforcer.Builder builder =
        NftEgressEnforcer.builder()
            .resolver(resolver)
            .processRunner(host.processes())
            .nftCommand(options.nftWords())
            .conntrackCommand(options.conntrackWords())
            .table(options.table())
            .guard(guard);
    if (dnsFilter != null) {
      builder.dnsFilter(dnsFilter);
    }
    return builder;
  }

  private String location(RuleSetName name) {
    return "table inet " + options.table() + " chain " + name;
  }
}
