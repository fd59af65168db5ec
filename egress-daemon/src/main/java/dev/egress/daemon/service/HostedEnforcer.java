package dev.egress.daemon.service;

import dev.egress.dns.NameStatus;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.RuleSetName;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The one enforcer a daemon hosts, with what the daemon needs besides the {@link EgressEnforcer}
 * SPI: the backend's name, its rule-set naming, its health check and its resolver's state. {@link
 * Backends} makes the real ones; tests host a fake.
 *
 * @param enforcer the enforcer every command goes through
 * @param backend {@code nftables} or {@code pf}, as {@code version} reports it
 * @param ruleSetNames the backend's rule-set name for a container id (pure)
 * @param healthCheck checks the host and every attachment once, repairing what it can
 * @param resolverStatus what the resolver knows about each name (does not block on lookups)
 * @param closeFirst stops what answers through the enforcer (the DNS filter), before the enforcer
 *     is closed: a query the filter took after that would find no attachment and fail
 * @param closeAfter stops what the enforcer used (the resolver, the audit writer), after the
 *     enforcer is closed
 */
public record HostedEnforcer(
    EgressEnforcer enforcer,
    String backend,
    Function<ContainerId, RuleSetName> ruleSetNames,
    Supplier<List<EgressEvent.DriftDetected>> healthCheck,
    Supplier<List<NameStatus>> resolverStatus,
    Runnable closeFirst,
    Runnable closeAfter) {
  public HostedEnforcer {
    Objects.requireNonNull(enforcer, "enforcer");
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(ruleSetNames, "ruleSetNames");
    Objects.requireNonNull(healthCheck, "healthCheck");
    Objects.requireNonNull(resolverStatus, "resolverStatus");
    Objects.requireNonNull(closeFirst, "closeFirst");
    Objects.requireNonNull(closeAfter, "closeAfter");
  }

  /**
   * Stops what answers through the enforcer, closes the enforcer (its rules stay in place), then
   * what it used; each step runs even when the one before failed.
   */
  public void close() {
    try {
      closeFirst.run();
    } finally {
      try {
        enforcer.close();
      } finally {
        closeAfter.run();
      }
    }
  }
}
