package dev.egress.cli;

import dev.egress.core.Preview;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.nftables.NftGuard;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.UserText;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * One packet filter as egressctl drives it, configured once from the command's options (or
 * egressd's configuration file) as the enforcer runs it: its preview, host health, installed rule
 * sets and drift, and an enforcer for cleanup. The commands work through this and never ask which
 * filter it is; {@code sudoers} is pf's alone and stays outside.
 *
 * <p>Not thread-safe; each command builds its own.
 */
sealed interface PacketFilter permits PfFilter, NftFilter {
  /**
   * What the kernel holds, and what is wrong host-wide.
   *
   * @param traffic each rule set's counters ({@link TrafficCounters}), read with the rule sets
   * @param trafficError why the counters could not be read (e.g. a sudo wrapper generated before
   *     counters existed), or null: the rule sets and drift are reported all the same
   */
  record Snapshot(
      List<InstalledRuleSet> ruleSets,
      Map<RuleSetName, TrafficCounters> traffic,
      @Nullable String trafficError,
      List<String> drift) {
    public Snapshot {
      ruleSets = List.copyOf(ruleSets);
      traffic = Map.copyOf(traffic);
      drift = List.copyOf(drift);
    }

    /**
     * The snapshot of {@code ruleSets} and {@code drift} with the counters {@code counters} reads;
     * when they cannot be read, the rest is reported all the same, with why in {@code
     * trafficError}.
     */
    static Snapshot readingCounters(
        List<InstalledRuleSet> ruleSets, CounterReading counters, List<String> drift) {
      try {
        return new Snapshot(ruleSets, counters.read(), null, drift);
      } catch (EgressException e) {
        return new Snapshot(
            ruleSets, Map.of(), UserText.line(String.valueOf(e.getMessage())), drift);
      }
    }
  }

  /** Reads each rule set's counters from the kernel. */
  @FunctionalInterface
  interface CounterReading {
    Map<RuleSetName, TrafficCounters> read() throws EgressException;
  }

  /**
   * pf, as it runs through {@code pfctlCommand} with {@code parent}.
   *
   * @param guardKnown whether {@code parent} is the parent as the enforcer runs it, guard included
   *     (from {@code --config} or {@code --no-guard}), rather than a guess without a guard
   */
  static PacketFilter pf(
      CliHost host, List<String> pfctlCommand, ParentAnchor parent, boolean guardKnown) {
    return new PfFilter(host, pfctlCommand, parent, guardKnown);
  }

  /**
   * nftables, as it runs with {@code options}' commands and table, {@code guard} and {@code
   * dnsFilter} (null: none).
   *
   * @param guardKnown whether {@code guard} is the one the enforcer runs with, rather than none for
   *     want of knowing
   * @throws CommandFailure with {@link ExitCodes#USAGE} for an unusable {@code --table}
   */
  static PacketFilter nft(
      CliHost host,
      NftOptions options,
      NftGuard guard,
      boolean guardKnown,
      @Nullable InetAddress dnsFilter) {
    return new NftFilter(host, options, guard, guardKnown, dnsFilter);
  }

  /** Which filter this is, as {@code --backend} names it. */
  Backend kind();

  /** The filter's name in messages: {@code pf}, {@code nftables}. */
  String displayName();

  /** The parent anchor (pf), or empty for a filter without one. */
  Optional<ParentAnchor> parentAnchor();

  /**
   * What attaching {@code policy} to {@code container} would load, from the backend's own preview;
   * runs no pfctl or nft.
   *
   * @throws dev.egress.enforcer.UnsupportedPolicyException if this filter cannot enforce it
   * @throws EgressException if {@code resolver} could not answer
   */
  Preview preview(NameResolver resolver, ContainerEndpoint container, EgressPolicy policy)
      throws EgressException;

  /** How {@code preview} would be loaded, for the operator. */
  String loadNote(Preview preview);

  /**
   * The host checks, read-only.
   *
   * @param network the container network managed containers run on (pf), if known
   * @param loggingAsked whether a policy to enforce logs denials (pf checks pflog0)
   */
  List<Finding> doctor(@Nullable String network, boolean loggingAsked) throws InterruptedException;

  /** The rule sets as the kernel holds them, with their tables, and host-wide drift. */
  Snapshot status() throws EgressException, InterruptedException;

  /** The installed rule sets' names, locations and addresses (rule counts and tables unread). */
  List<InstalledRuleSet> ruleSets() throws EgressException;

  /** The name the enforcer gives the rule set of {@code container}. */
  RuleSetName ruleSetName(ContainerId container);

  /** Whether the guard the enforcer runs with is known (else it is taken as none). */
  boolean guardKnown();

  /**
   * An enforcer configured as the one that runs (guard and DNS filter included), without periodic
   * health checks, for {@code command} to reconcile with.
   *
   * @throws CommandFailure with {@link ExitCodes#USAGE} when the guard is unknown: its first
   *     prepare would reload the host's hook without the guard and open the managed network
   */
  default EgressEnforcer enforcer(String command, NameResolver resolver) {
    if (!guardKnown()) {
      throw new CommandFailure(ExitCodes.USAGE, GuardOptions.unknownGuard(command, hook()));
    }
    return configuredEnforcer(resolver);
  }

  /** What preparing the host reloads, for messages: the parent anchor, or the base chains. */
  String hook();

  /** The enforcer of {@link #enforcer}, built whether or not the guard is known. */
  EgressEnforcer configuredEnforcer(NameResolver resolver);
}
