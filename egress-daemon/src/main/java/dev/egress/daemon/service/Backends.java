package dev.egress.daemon.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.audit.AuditWriter;
import dev.egress.daemon.DaemonConfig;
import dev.egress.daemon.wire.EventJson;
import dev.egress.dns.DnsNameResolver;
import dev.egress.dns.filter.DnsFilter;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.RuleSetName;
import dev.egress.nftables.NftBackend;
import dev.egress.nftables.NftCommand;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The enforcer a configuration asks for, built through its public builder: nftables with the
 * configured guard, or pf with the guard in its parent anchor and pfctl run directly (egressd runs
 * as root). Each has the shared resolver. With {@code dns-filter} set, nftables' enforcer is built
 * with the filter's address and egressd hosts the {@link DnsFilter} there, over the same resolver,
 * its query events sent with the enforcer's. With {@code audit-file} set, refused packets become
 * records in that file and {@code denied} events: nftables' NFLOG groups, or pf's {@code pflog0}
 * (egressd runs as root, so its tcpdump needs no sudo wrapper).
 */
public final class Backends {
  /** pfctl as a root daemon runs it: no sudo. */
  private static final List<String> PFCTL = List.of("/sbin/pfctl");

  private Backends() {}

  /**
   * The hosted enforcer of {@code config}, its events sent to {@code events} in wire form. Builds
   * only: no privileged call is made here, except that a configured DNS filter starts listening and
   * a configured audit trail starts its readers.
   *
   * @throws UncheckedIOException if the DNS filter cannot listen on its address
   */
  public static HostedEnforcer host(DaemonConfig config, Consumer<ObjectNode> events) {
    DnsNameResolver resolver = resolver(config.resolver());
    if (config.backend() == DaemonConfig.Backend.PF) {
      ParentAnchor anchors = config.pfParent();
      Function<ContainerId, RuleSetName> names = anchors::childName;
      PfEgressEnforcer.Builder builder =
          PfEgressEnforcer.builder()
              .resolver(resolver)
              .parentAnchor(anchors)
              .pfctlCommand(PFCTL)
              .listener(listener(names, events))
              .noHealthChecks(); // the daemon runs them at its configured period
      AuditWriter writer = auditWriter(config);
      if (writer != null) {
        builder.audit(writer, record -> events.accept(EventJson.denied(record, names)));
      }
      PfEgressEnforcer enforcer = closingOnFailure(writer, builder::build);
      return new HostedEnforcer(
          enforcer,
          "pf",
          names,
          enforcer::checkHealth,
          resolver::status,
          () -> {},
          () -> closeAll(resolver, writer));
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
    InetAddress filterAddress = config.resolver().dnsFilter();
    if (filterAddress != null) {
      builder.dnsFilter(filterAddress);
    }
    AuditWriter writer = auditWriter(config);
    if (writer != null) {
      builder.audit(writer, record -> events.accept(EventJson.denied(record, names)));
    }
    NftEgressEnforcer enforcer = closingOnFailure(writer, builder::build);
    DnsFilter filter = null;
    if (filterAddress != null) {
      try {
        filter =
            DnsFilter.builder()
                .attachments(enforcer)
                .resolver(resolver)
                .listen(new InetSocketAddress(filterAddress, 53))
                .grace(config.resolver().grace())
                .listener(listener(names, events))
                .start();
      } catch (IOException e) {
        closeAll(enforcer, resolver, writer);
        throw new UncheckedIOException(
            "cannot listen for the DNS filter on "
                + IpAddresses.format(filterAddress)
                + " port 53 (dns-filter): "
                + e.getMessage(),
            e);
      }
    }
    AutoCloseable hostedFilter = filter;
    return new HostedEnforcer(
        enforcer,
        "nftables",
        names,
        enforcer::checkHealth,
        resolver::status,
        () -> closeAll(hostedFilter),
        () -> closeAll(resolver, writer));
  }

  /**
   * The writer of {@code audit-file}, or null without one. Subscribers get every record; the
   * writer's rate limit keeps only the file small.
   */
  private static @Nullable AuditWriter auditWriter(DaemonConfig config) {
    Path auditFile = config.auditFile();
    return auditFile == null ? null : AuditWriter.builder(auditFile).build();
  }

  /** What {@code build} builds; {@code writer} is closed if that fails. */
  private static <E> E closingOnFailure(@Nullable AuditWriter writer, Supplier<E> build) {
    try {
      return build.get();
    } catch (RuntimeException e) {
      closeAll(writer);
      throw e;
    }
  }

  /** Closes each of {@code resources} that is there, all of them even when one fails. */
  private static void closeAll(@Nullable AutoCloseable... resources) {
    RuntimeException failure = null;
    for (AutoCloseable resource : resources) {
      if (resource == null) {
        continue;
      }
      try {
        resource.close();
      } catch (Exception e) {
        if (failure == null) {
          failure = new IllegalStateException("closing " + resource + " failed", e);
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
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
