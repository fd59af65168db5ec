package dev.egress.daemon.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.DaemonConfig;
import dev.egress.daemon.wire.EventJson;
import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.RuleSetName;
import dev.egress.nftables.NftBackend;
import dev.egress.nftables.NftCommand;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.render.ParentAnchor;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The enforcer a configuration asks for, built through its public builder: nftables with the
 * configured guard, or pf with the guard in its parent anchor and pfctl run directly (egressd runs
 * as root). Each has the shared resolver.
 */
public final class Backends {
  /** pfctl as a root daemon runs it: no sudo. */
  private static final List<String> PFCTL = List.of("/sbin/pfctl");

  private Backends() {}

  /**
   * The hosted enforcer of {@code config}, its events sent to {@code events} in wire form. Builds
   * only: no privileged call is made here.
   */
  public static HostedEnforcer host(DaemonConfig config, Consumer<ObjectNode> events) {
    DnsNameResolver resolver = resolver(config.resolver());
    if (config.backend() == DaemonConfig.Backend.PF) {
      ParentAnchor anchors = config.pfParent();
      Function<ContainerId, RuleSetName> names = anchors::childName;
      PfEgressEnforcer enforcer =
          PfEgressEnforcer.builder()
              .resolver(resolver)
              .parentAnchor(anchors)
              .pfctlCommand(PFCTL)
              .listener(listener(names, events))
              .noHealthChecks() // the daemon runs them at its configured period
              .build();
      return new HostedEnforcer(
          enforcer, "pf", names, enforcer::checkHealth, resolver::status, resolver::close);
    }
    NftGuard guard = config.nftGuard();
    // The backend's naming, the same the enforcer uses (egressctl names rule sets so too).
    Function<ContainerId, RuleSetName> names =
        new NftBackend(NftCommand.onPath(), "egress", guard)::ruleSetName;
    NftEgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(resolver)
            .guard(guard)
            .listener(listener(names, events))
            .noHealthChecks() // the daemon runs them at its configured period
            .build();
    return new HostedEnforcer(
        enforcer, "nftables", names, enforcer::checkHealth, resolver::status, resolver::close);
  }

  private static EgressListener listener(
      Function<ContainerId, RuleSetName> names, Consumer<ObjectNode> events) {
    return event -> events.accept(EventJson.of(event, names));
  }

  private static DnsNameResolver resolver(DaemonConfig.Resolver settings) {
    DnsNameResolver.Builder builder =
        DnsNameResolver.builder()
            .queryTimeout(settings.queryTimeout())
            .ttlFloor(settings.ttlFloor())
            .ttlCeiling(settings.ttlCeiling())
            .grace(settings.grace());
    if (!settings.servers().isEmpty()) {
      builder.servers(
          settings.servers().stream()
              .map(address -> new InetSocketAddress(address, 53))
              .collect(Collectors.toList()));
    }
    return builder.build();
  }
}
