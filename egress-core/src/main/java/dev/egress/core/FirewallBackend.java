package dev.egress.core;

import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One packet filter (pf, nftables) as {@link RulesetEnforcer} drives it. A backend prints a
 * container's {@link EnforcementPlan} in its filter's language and loads it; it keeps no lifecycle
 * state of its own: ordering, retries, refresh and events are the enforcer's, and what the rules
 * mean is the plan's.
 *
 * <p>Implementations are thread-safe for calls on different rule sets; the enforcer never calls two
 * methods for the same rule set at once. Every method blocks until the kernel has answered.
 */
public interface FirewallBackend extends AutoCloseable {

  /**
   * A deterministic rule-set name for a container id, safe for the filter (pf anchor, nftables
   * chain): sanitised, length-limited, and distinct for distinct ids (a hash suffix when sanitising
   * lost information). The only way the lifecycle gets a name for a container.
   */
  RuleSetName ruleSetName(ContainerId containerId);

  /**
   * Refuses policies this backend cannot honour, before anything is changed. Policies that need a
   * DNS filter reach it only when the enforcer has one (the lifecycle refuses them otherwise).
   *
   * @throws UnsupportedPolicyException saying what and what to do instead
   */
  void checkSupported(EgressPolicy policy) throws UnsupportedPolicyException;

  /**
   * Makes the host ready: filter enabled, the parent hook and guard loaded. Idempotent; called
   * before the first install and by health repair.
   */
  void prepare() throws EgressException;

  /**
   * What {@link #install} would load for {@code plan} under {@code name}, and the command that
   * would load it. Pure: runs nothing, changes nothing.
   *
   * @throws UnsupportedPolicyException if the plan is more than the filter can hold, as {@link
   *     #install} would refuse it
   */
  Preview preview(RuleSetName name, EnforcementPlan plan) throws UnsupportedPolicyException;

  /**
   * Installs or replaces the rule set {@code name} in one atomic, privileged call: after success
   * exactly {@code plan} applies, its {@link EnforcementPlan#grants grants} included (each until
   * its end; grants the plan does not hold are gone); after failure the previous rule set (or none)
   * still applies, never a mix.
   */
  void install(RuleSetName name, EnforcementPlan plan) throws EgressException;

  /**
   * Adds what the DNS filter granted to the address sets of the installed rule set {@code name}, in
   * one privileged call, all or nothing: each address of {@code additions} joins its name's set
   * until the instant it maps to (an address granted before takes the new end, which the lifecycle
   * never makes earlier). Rules, resolved addresses and other grants stay as they are. {@code plan}
   * is the rule set as installed, its grants not yet holding {@code additions}; every name of
   * {@code additions} has a set in it. Its grants may be many: a backend looks up what it needs of
   * them ({@link EnforcementPlan#withGrantsAdded} makes the plan after the grant) instead of
   * walking or copying them, so that a grant costs what it adds. Not idempotent in effect on ends,
   * harmless to repeat.
   *
   * @throws EgressException if the kernel update failed; the sets are then as before, never wider
   */
  void grant(
      RuleSetName name, EnforcementPlan plan, Map<HostName, Map<InetAddress, Instant>> additions)
      throws EgressException;

  /**
   * What the DNS filter of an earlier enforcer process granted that the installed rule set {@code
   * name} still holds, in the terms of {@code plan}: each of its names with the addresses its set
   * holds for every port the name's lines open, until the earliest end the kernel gives them. The
   * lifecycle asks before an attachment's first install and puts them in the plan it installs, so
   * that a restarted enforcer keeps what was granted instead of dropping it until the container
   * asks again. Changes nothing.
   *
   * <p>Empty unless the rule set was installed for a plan that differs from {@code plan} in its
   * addresses and grants alone (same sources, rules and names): under another plan an address in a
   * set may have been granted to another name. Never an end later than the kernel's, never an
   * address the kernel does not hold: installed again under {@code plan}, the grants open no more
   * than was open. A backend whose sets are not per name may credit an address to every name it
   * could have been granted to; the lifecycle therefore keeps what this returns under {@code plan}
   * only, and drops it at an update to another policy unless an answer has written it again. The
   * default holds none, for a kernel whose grants carry no end (pf tables): those are dropped.
   *
   * @throws EgressException if the kernel could not be read; the lifecycle then takes over none
   */
  default Map<HostName, Map<InetAddress, Instant>> grantsHeld(
      RuleSetName name, EnforcementPlan plan) throws EgressException {
    return Map.of();
  }

  /**
   * Whether the kernel drops a granted address from its set at the grant's end by itself (nftables
   * element timeouts). When false, the lifecycle calls {@link #revoke} once a grant has ended, and
   * again after a failure, until it succeeds.
   */
  boolean expiresGrants();

  /**
   * Takes granted addresses whose grants ended out of their names' sets in the installed rule set
   * {@code name}, in one privileged call; an address no longer there is no error. Called only when
   * {@link #expiresGrants} is false. {@code plan} is the rule set as installed, its grants no
   * longer holding {@code removals}.
   *
   * @throws EgressException if the kernel update failed; the addresses may still be in the sets
   */
  void revoke(RuleSetName name, EnforcementPlan plan, Map<HostName, Set<InetAddress>> removals)
      throws EgressException;

  /**
   * Replaces the address sets that hold {@code changedNames}' addresses in the installed rule set
   * {@code name} (a backend may keep one set per name or one for all), with the grants they hold,
   * without touching its rules or open connections. {@code plan} holds the new addresses; its rules
   * are those installed (they never depend on addresses).
   */
  void refreshAddresses(RuleSetName name, EnforcementPlan plan, Set<HostName> changedNames)
      throws EgressException;

  /**
   * Removes the rule set {@code name} and kills tracked connections from and to each of {@code
   * addresses}, both directions. Removing an absent rule set still kills the connections and is not
   * an error.
   */
  void remove(RuleSetName name, List<InetAddress> addresses) throws EgressException;

  /**
   * The rule sets now installed (empty ones count as absent), each with the source addresses it
   * governs, as read back from the kernel.
   */
  Map<RuleSetName, List<InetAddress>> installed() throws EgressException;

  /**
   * Whether the installed rule set {@code name} is exactly what {@link #install} would load for
   * {@code plan} now; false when missing or altered. Granted addresses are no drift as long as the
   * plan holds their grants (or the grants have just ended and the kernel has not dropped them
   * yet); a granted address the plan does not hold is drift. A grant the kernel dropped early is
   * not (the set is narrower, never wider).
   */
  boolean isIntact(RuleSetName name, EnforcementPlan plan) throws EgressException;

  /**
   * The host and the installed rule sets as read now, to check the host and many rule sets against
   * their plans with one read: a health check or reconcile reads the kernel once, not once for the
   * host and once per rule set. What it answers is what was installed when it was read; a check
   * that finds a rule set altered reinstalls it, so a read taken just before an update costs a
   * needless reinstall, never a missed one. The default reads the kernel on each question ({@link
   * Installed#eachTime}).
   */
  default Installed readInstalled() throws EgressException {
    return Installed.eachTime(this);
  }

  /**
   * The host and the rule sets as read at one moment; see {@link #readInstalled}. Used by one
   * thread.
   */
  interface Installed {
    /** Whether {@code name} was exactly what {@link #install} would load for {@code plan}. */
    boolean isIntact(RuleSetName name, EnforcementPlan plan) throws EgressException;

    /** {@link FirewallBackend#hostProblems} as of this read. */
    List<String> hostProblems() throws EgressException;

    /** {@link FirewallBackend#installed} as of this read. */
    Map<RuleSetName, List<InetAddress>> installed() throws EgressException;

    /** Reads {@code backend} anew on each question: no snapshot. */
    static Installed eachTime(FirewallBackend backend) {
      return new Installed() {
        @Override
        public boolean isIntact(RuleSetName name, EnforcementPlan plan) throws EgressException {
          return backend.isIntact(name, plan);
        }

        @Override
        public List<String> hostProblems() throws EgressException {
          return backend.hostProblems();
        }

        @Override
        public Map<RuleSetName, List<InetAddress>> installed() throws EgressException {
          return backend.installed();
        }
      };
    }
  }

  /**
   * The traffic counters of the installed rule sets, read now: for each, the sum of its rules'
   * counters, split by what the rule does (lets through or refuses); see {@link TrafficCounters}
   * for what counts. A rule set that is not installed has no entry. Changes nothing.
   */
  Map<RuleSetName, TrafficCounters> counters() throws EgressException;

  /**
   * Host-wide problems that make enforcement unreliable (filter disabled, hook missing from the
   * main ruleset), each with its fix. Empty when healthy. Repairs nothing.
   */
  List<String> hostProblems() throws EgressException;

  /**
   * Releases what the backend holds for itself (a long-lived process). Rules stay in force, and so
   * does what keeps the kernel evaluating them: pf's enable reference is not released.
   */
  @Override
  void close();
}
