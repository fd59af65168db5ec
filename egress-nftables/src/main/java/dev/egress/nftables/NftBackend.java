package dev.egress.nftables;

import dev.egress.core.FirewallBackend;
import dev.egress.core.Preview;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The nftables {@link FirewallBackend}: one {@code inet} table of its own (see {@link NftRenderer}
 * for its layout), every change one {@code nft -f -} transaction, connections cut with {@code
 * conntrack -D}. Stateless: what is installed is read back from the kernel.
 *
 * <p>Thread-safe for calls on different rule sets (each is one transaction on its own objects).
 * Every method blocks until {@code nft} (and {@code conntrack}) have exited, at most the command's
 * timeout per call. Failures throw {@link NftException} (an {@link EgressException}) with a hint; a
 * failed transaction changes nothing.
 */
public final class NftBackend implements FirewallBackend {
  private final NftCommand command;
  private final NftRenderer renderer;
  private final NftGuard guard;

  /**
   * @param command runs nft and conntrack
   * @param table the table name (default {@code egress}); two enforcers with different tables each
   *     restrict, and the stricter wins
   * @param guard what unattached traffic to reject
   */
  public NftBackend(NftCommand command, String table, NftGuard guard) {
    this.command = Objects.requireNonNull(command, "command");
    this.renderer = new NftRenderer(table);
    this.guard = Objects.requireNonNull(guard, "guard");
  }

  @Override
  public RuleSetName ruleSetName(ContainerId containerId) {
    return ChainName.forContainer(containerId);
  }

  /**
   * Refuses policies that need a DNS filter: nftables sees addresses, not the names a container
   * looked up.
   */
  @Override
  public void checkSupported(EgressPolicy policy) throws UnsupportedPolicyException {
    if (policy.requiresDnsFiltering()) {
      throw UnsupportedPolicyException.withoutDnsFilter("the nftables enforcer", policy);
    }
  }

  /**
   * What {@link #prepare} and then {@link #install} would load for {@code plan}, as one {@code nft
   * -f -} script, without loading anything: for review, dry runs and machines without nftables.
   * Pure.
   */
  @Override
  public Preview preview(RuleSetName name, EnforcementPlan plan) {
    return new Preview(
        name,
        plan,
        renderer.prepare(guard) + renderer.install(ChainName.of(name), plan),
        "nft -f -");
  }

  /** Creates the table if missing and reloads its base chains and guard; containers untouched. */
  @Override
  public void prepare() throws EgressException {
    command.apply(renderer.prepare(guard));
  }

  @Override
  public void install(RuleSetName name, EnforcementPlan plan) throws EgressException {
    command.apply(renderer.install(ChainName.of(name), plan));
  }

  @Override
  public void refreshAddresses(RuleSetName name, EnforcementPlan plan, Set<HostName> changedNames)
      throws EgressException {
    String script = renderer.refresh(ChainName.of(name), plan, changedNames);
    if (!script.isEmpty()) {
      command.apply(script);
    }
  }

  /**
   * Removes chain {@code name}, its sets and every dispatch element pointing at it in one
   * transaction, then deletes the tracked connections from and to each address (conntrack, both
   * directions and families). If the transaction fails, nothing was removed and no connection was
   * cut.
   */
  @Override
  public void remove(RuleSetName name, List<InetAddress> addresses) throws EgressException {
    ChainName chain = ChainName.of(name);
    NftListing listing = listing();
    List<InetAddress> dispatched = listing.dispatchedTo(chain.value());
    List<String> sets =
        listing.sets().keySet().stream().filter(chain::ownsSet).collect(Collectors.toList());
    if (listing.chains().containsKey(chain.value()) || !dispatched.isEmpty() || !sets.isEmpty()) {
      command.apply(renderer.remove(chain, dispatched, sets));
    }
    Set<InetAddress> toCut = new LinkedHashSet<>(addresses);
    toCut.addAll(dispatched);
    for (InetAddress address : toCut) {
      command.deleteConnectionsOf(address);
    }
  }

  /**
   * One container's rule set as the kernel holds it, read back by {@link #loaded}.
   *
   * @param name the rule-set name, which is the chain name
   * @param addresses the source addresses the dispatch maps send to the chain
   * @param rules the chain's rules as nft lists them, counter values removed; empty when only
   *     dispatch elements are left of it
   * @param sets the rule set's address sets with their elements
   */
  public record LoadedRuleSet(
      RuleSetName name,
      List<InetAddress> addresses,
      List<String> rules,
      Map<String, Set<InetAddress>> sets) {
    public LoadedRuleSet {
      Objects.requireNonNull(name, "name");
      addresses = List.copyOf(addresses);
      rules = List.copyOf(rules);
      sets = Collections.unmodifiableMap(new LinkedHashMap<>(sets));
    }
  }

  /**
   * The rule sets now installed, with their rules and sets: a chain of this backend's naming that
   * holds rules, or that a dispatch element still points to. One {@code nft list table}; changes
   * nothing. {@link #installed} is this, reduced to names and addresses.
   */
  public List<LoadedRuleSet> loaded() throws EgressException {
    NftListing listing = listing();
    Set<ChainName> chains = new LinkedHashSet<>();
    listing
        .chains()
        .forEach(
            (chain, rules) -> {
              if (!rules.isEmpty()) {
                ChainName.parse(chain).ifPresent(chains::add);
              }
            });
    listing.dispatch().values().forEach(chain -> ChainName.parse(chain).ifPresent(chains::add));
    List<LoadedRuleSet> loaded = new ArrayList<>();
    for (ChainName chain : chains) {
      Map<String, Set<InetAddress>> sets = new LinkedHashMap<>();
      listing
          .sets()
          .forEach(
              (set, elements) -> {
                if (chain.ownsSet(set)) {
                  sets.put(set, elements);
                }
              });
      loaded.add(
          new LoadedRuleSet(
              chain,
              listing.dispatchedTo(chain.value()),
              listing.chains().getOrDefault(chain.value(), List.of()),
              sets));
    }
    return loaded;
  }

  @Override
  public Map<RuleSetName, List<InetAddress>> installed() throws EgressException {
    Map<RuleSetName, List<InetAddress>> installed = new LinkedHashMap<>();
    for (LoadedRuleSet ruleSet : loaded()) {
      installed.put(ruleSet.name(), ruleSet.addresses());
    }
    return installed;
  }

  /**
   * Whether the table exists with its chains: false on a host where nothing was prepared yet (or
   * the table was deleted). One {@code nft list table}; changes nothing.
   */
  public boolean tableLoaded() throws EgressException {
    return !listing().chains().isEmpty();
  }

  @Override
  public boolean isIntact(RuleSetName name, EnforcementPlan plan) throws EgressException {
    ChainName chain = ChainName.of(name);
    NftListing listing = listing();
    List<String> actualRules = listing.chains().get(chain.value());
    if (actualRules == null || !actualRules.equals(NftRenderer.chainRules(chain, plan))) {
      return false;
    }
    for (Map.Entry<String, Set<InetAddress>> set : NftRenderer.sets(chain, plan).entrySet()) {
      if (!set.getValue().equals(listing.sets().get(set.getKey()))) {
        return false;
      }
    }
    Set<InetAddress> dispatched = new LinkedHashSet<>(listing.dispatchedTo(chain.value()));
    return dispatched.equals(new LinkedHashSet<>(plan.sources()));
  }

  @Override
  public List<String> hostProblems() throws EgressException {
    NftListing listing = listing();
    List<String> problems = new ArrayList<>();
    String table = "table inet " + renderer.table();
    if (listing.chains().isEmpty()) {
      problems.add(
          table
              + " is missing: nothing is enforced. Fix: prepare() (the enforcer's"
              + " health repair does it) and reattach, or reconcile");
      return problems;
    }
    for (String chain : List.of(NftRenderer.FORWARD, NftRenderer.INPUT)) {
      String header = "type filter hook " + chain + " priority filter - 10; policy accept;";
      if (!listing.chainHeader(chain).equals(header)) {
        problems.add(
            "base chain "
                + chain
                + " of "
                + table
                + " is missing or hooked wrongly ('"
                + listing.chainHeader(chain)
                + "'). Fix: prepare()");
      } else if (!NftRenderer.baseChainRules(chain, guard).equals(listing.chains().get(chain))) {
        problems.add(
            "base chain "
                + chain
                + " of "
                + table
                + " does not dispatch or guard as"
                + " loaded (rules altered). Fix: prepare()");
      }
    }
    if (!NftRenderer.denyChainRules().equals(listing.chains().get(NftRenderer.DENY))) {
      problems.add("chain deny of " + table + " is altered. Fix: prepare()");
    }
    return problems;
  }

  private NftListing listing() throws EgressException {
    try {
      return NftListing.parse(command.list("table", "inet", renderer.table()));
    } catch (NftException e) {
      if (e.kind() == NftException.Kind.MISSING_OBJECT) {
        return NftListing.absent();
      }
      throw e;
    }
  }

  /** Holds nothing of its own: the table and its rules stay. */
  @Override
  public void close() {}
}
