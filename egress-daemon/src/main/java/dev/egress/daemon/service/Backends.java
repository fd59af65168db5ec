package dev.egress.daemon.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.audit.AuditWriter;
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
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The enforcer a configuration asks for, built through its public builder: nftables with the
 * configured guard (and the audit trail when the configuration names an audit file: refused packets
 * become records in the file and {@code denied} events), or pf with the guard in its parent anchor
 * and pfctl run directly (egressd runs as root). Each has the shared resolver.
 */
public final class Backends {
  /** pfctl as a root daemon runs it: no sudo. */
  private static final List<String> PFCTL = List.of("/sbin/pfctl");

  private Backends() {}

  /**
   * The hosted enforcer of {@code config}, its events sent to {@code events} in wire form. Builds
   * only, and starts the audit trail's readers when asked for: no nft call is made here.
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
    NftEgressEnforcer.Builder builder =
        NftEgressEnforcer.builder()
            .resolver(resolver)
            .guard(guard)
            .listener(listener(names, events))
            .noHealthChecks(); // the daemon runs them at its configured period
    Path auditFile = config.auditFile();
    if (auditFile == null) {
      NftEgressEnforcer enforcer = builder.build();
      return new HostedEnforcer(
          enforcer, "nftables", names, enforcer::checkHealth, resolver::status, resolver::close);
    }
    // Subscribers get every record; the writer's rate limit keeps only the file small.
    AuditWriter writer = AuditWriter.builder(auditFile).build();
    NftEgressEnforcer enforcer;
    try {
      enforcer =
          builder.audit(writer, record -> events.accept(EventJson.denied(record, names))).build();
    } catch (RuntimeException e) {
      writer.close();
      throw e;
    }
    return new HostedEnforcer(
        enforcer,
        "nftables",
        names,
        enforcer::checkHealth,
        resolver::status,
        () -> {
          try {
            resolver.close();
          } finally {
            writer.close();
          }
        });
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
