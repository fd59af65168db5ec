package dev.egress.pf;

import dev.egress.core.FirewallBackend;
import dev.egress.core.Preview;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.pf.pfctl.PfctlOutput;
import dev.egress.pf.pfctl.PfctlTimeoutException;
import dev.egress.pf.pfctl.TableName;
import dev.egress.pf.render.ChildRuleset;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.pf.render.PfRenderer;
import dev.egress.pf.render.PfTable;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pf as a {@link FirewallBackend}: a parent anchor (by default {@code com.apple/000.egress}, which
 * the stock {@code anchor "com.apple/*"} evaluates) holding {@code anchor "*"} and the guard, and
 * one child anchor per container, loaded whole with one {@code pfctl -a PARENT/NAME -f -}.
 *
 * <p>Why one class of this size: each {@link FirewallBackend} step is a pfctl call whose read-back
 * compares what the step loaded; the rule text is {@link dev.egress.pf.render.PfRenderer}'s, the
 * pfctl command lines {@link Pfctl}'s.
 *
 * <p>pf is enabled by reference ({@code -E}) when it is disabled, and neither disabled nor
 * released: the reference stays taken after {@link #close}, so that pf goes on evaluating the
 * rules, which stay, while no enforcer runs (a released last reference disables pf, and every
 * anchor with it). The main ruleset and /etc/pf.conf are only read. Thread-safe and without mutable
 * state; {@link #prepare} is serialized, so that concurrent callers never take two references.
 */
final class PfBackend implements FirewallBackend {
  private static final Logger LOG = LoggerFactory.getLogger(PfBackend.class);

  /**
   * IANA service names pfctl may print for a port ({@code port = https}); a name not here counts as
   * drift, which costs only a reinstall.
   */
  private static final Map<String, String> SERVICE_PORTS =
      Map.ofEntries(
          Map.entry("ftp", "21"),
          Map.entry("ssh", "22"),
          Map.entry("telnet", "23"),
          Map.entry("smtp", "25"),
          Map.entry("domain", "53"),
          Map.entry("http", "80"),
          Map.entry("pop3", "110"),
          Map.entry("ntp", "123"),
          Map.entry("imap", "143"),
          Map.entry("https", "443"),
          Map.entry("submission", "587"),
          Map.entry("imaps", "993"),
          Map.entry("pop3s", "995"),
          Map.entry("mysql", "3306"),
          Map.entry("postgresql", "5432"),
          Map.entry("http-alt", "8080"),
          Map.entry("pcsync-https", "8443"));

  /**
   * The names pfctl prints for the ICMPv6 types egress-pf renders as numbers (its {@code
   * icmp6_type} table, pfctl_parser.c, the same in every pfctl lineage).
   */
  private static final Map<String, String> ICMP6_TYPES =
      Map.of("routersol", "133", "neighbrsol", "135", "neighbradv", "136");

  /** What pfctl appends to a rule it prints: state defaults, or {@code all} without addresses. */
  private static final Set<String> STATE_DEFAULTS =
      Set.of("", "flags S/SA keep state", "keep state", "flags S/SA");

  private final Pfctl pfctl;
  private final ParentAnchor parent;
  private final PfInspection inspection;
  private final @Nullable InetAddress dnsFilter;

  PfBackend(Pfctl pfctl, ParentAnchor parent) {
    this(pfctl, parent, null);
  }

  /**
   * A backend for an enforcer whose DNS filter answers on {@code dnsFilter} (null: none): it takes
   * policies that need the filter, their anchors redirect port 53 there, and their name tables take
   * the filter's grants.
   */
  PfBackend(Pfctl pfctl, ParentAnchor parent, @Nullable InetAddress dnsFilter) {
    this.pfctl = Objects.requireNonNull(pfctl, "pfctl");
    this.parent = Objects.requireNonNull(parent, "parent");
    this.inspection = new PfInspection(pfctl, parent);
    this.dnsFilter = dnsFilter;
  }

  @Override
  public RuleSetName ruleSetName(ContainerId containerId) {
    return parent.childName(containerId);
  }

  /**
   * Refuses policies that need a DNS filter when this backend was made without one: pf sees
   * addresses, not the names a container looked up.
   */
  @Override
  public void checkSupported(EgressPolicy policy) throws UnsupportedPolicyException {
    if (policy.requiresDnsFiltering() && dnsFilter == null) {
      throw UnsupportedPolicyException.withoutDnsFilter("the pf backend", policy);
    }
  }

  /**
   * One privileged call, all or nothing. The usual grant changes one name's table: {@code pfctl -a
   * PARENT/NAME -t TABLE -T add ADDRESS...} of the addresses the table does not hold yet (a grant
   * of an address already there changes nothing in pf, whose tables keep no per-entry end: no
   * call). A grant that changes several names' tables reloads the anchor with {@code -f -} instead
   * (pf commits a load whole), so that no half of it stays behind: that one renders every grant
   * held, the usual one none. A call that times out is read back ({@link #requireCommitted}).
   */
  @Override
  public void grant(
      RuleSetName name, EnforcementPlan plan, Map<HostName, Map<InetAddress, Instant>> additions)
      throws EgressException {
    Map<HostName, Set<InetAddress>> added = new TreeMap<>();
    additions.forEach(
        (host, granted) -> {
          Set<InetAddress> fresh = new TreeSet<>(Comparator.comparing(IpNetwork::host));
          granted.keySet().stream()
              .filter(address -> !holds(plan, host, address))
              .forEach(fresh::add);
          if (!fresh.isEmpty()) {
            added.put(host, fresh);
          }
        });
    EnforcementPlan after = plan.withGrantsAdded(additions);
    changeTables(name, after, added, true);
  }

  /** pf tables keep no per-entry end: the lifecycle revokes ended grants ({@link #revoke}). */
  @Override
  public boolean expiresGrants() {
    return false;
  }

  /**
   * As {@link #grant}, the other way: {@code -T delete} of the ended grants' addresses that the
   * name's set no longer holds otherwise (resolved, or granted again), or a reload of the anchor
   * when several tables change.
   */
  @Override
  public void revoke(
      RuleSetName name, EnforcementPlan plan, Map<HostName, Set<InetAddress>> removals)
      throws EgressException {
    Map<HostName, Set<InetAddress>> removed = new TreeMap<>();
    removals.forEach(
        (host, addresses) -> {
          Set<InetAddress> gone = new TreeSet<>(Comparator.comparing(IpNetwork::host));
          addresses.stream().filter(address -> !holds(plan, host, address)).forEach(gone::add);
          if (!gone.isEmpty()) {
            removed.put(host, gone);
          }
        });
    changeTables(name, plan, removed, false);
  }

  /** Whether {@code host}'s table holds {@code address} under {@code plan}: resolved or granted. */
  private static boolean holds(EnforcementPlan plan, HostName host, InetAddress address) {
    return plan.addresses().getOrDefault(host, Set.of()).contains(address)
        || plan.grants().getOrDefault(host, Map.of()).containsKey(address);
  }

  /**
   * Adds ({@code add}) or deletes {@code changes} in their names' tables so that the anchor holds
   * {@code after}: one {@code -T add|delete} for one table and at most {@link
   * Pfctl#MAX_TABLE_ADDRESSES} addresses, one reload for several tables or more addresses (many
   * grants that end together), none for none. Only a reload renders the grants {@code after} holds;
   * one table's change costs what it changes.
   */
  private void changeTables(
      RuleSetName name, EnforcementPlan after, Map<HostName, Set<InetAddress>> changes, boolean add)
      throws EgressException {
    if (changes.isEmpty()) {
      return;
    }
    AnchorName anchorName = AnchorName.of(name);
    // Which tables the anchor has depends on the policy and the container, not on the grants.
    List<TableName> tables =
        PfRenderer.renderChild(anchorName, after.withGrants(Map.of())).tableNames();
    // A name whose ports any address may reach (unsafe-any-address) has no table: its grants
    // change nothing in pf.
    Map<HostName, Set<InetAddress>> tabled = new TreeMap<>(changes);
    tabled.keySet().removeIf(host -> !tables.contains(TableName.forHostName(host)));
    changes = tabled;
    if (changes.isEmpty()) {
      return;
    }
    AnchorPath anchor = parent.childPath(anchorName);
    if (changes.size() > 1
        || changes.values().iterator().next().size() > Pfctl.MAX_TABLE_ADDRESSES) {
      ChildRuleset child = PfRenderer.renderChild(anchorName, after);
      try {
        pfctl.loadAnchor(anchor, child.text());
      } catch (PfctlTimeoutException e) {
        requireCommitted(e, () -> holdsRendered(child, false));
      }
      return;
    }
    Map.Entry<HostName, Set<InetAddress>> change = changes.entrySet().iterator().next();
    TableName table = TableName.forHostName(change.getKey());
    try {
      if (add) {
        pfctl.addToTable(anchor, table, change.getValue());
      } else {
        pfctl.deleteFromTable(anchor, table, change.getValue());
      }
    } catch (PfctlTimeoutException e) {
      // Only the change is read back: the table may hold other grants that ended but are not
      // revoked yet, so comparing it whole would call a committed grant a failed one.
      Set<IpNetwork> changed = new HashSet<>();
      change.getValue().forEach(address -> changed.add(IpNetwork.host(address)));
      requireCommitted(e, () -> tableHolds(anchor, table, changed, add));
    }
  }

  /** Whether {@code table} holds every one of {@code entries} ({@code present}) or none of them. */
  private boolean tableHolds(
      AnchorPath anchor, TableName table, Set<IpNetwork> entries, boolean present)
      throws PfctlException {
    Set<IpNetwork> loaded = new HashSet<>();
    try {
      pfctl.table(anchor, table).forEach(entry -> loaded.add(IpNetwork.parse(entry)));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return present ? loaded.containsAll(entries) : entries.stream().noneMatch(loaded::contains);
  }

  /**
   * {@code -s info}; {@code -E} when disabled (the reference is never released; see the class
   * javadoc); then the parent anchor. Two calls when pf is already enabled, three otherwise.
   * Serialised, so that concurrent callers never take two references.
   */
  @Override
  public synchronized void prepare() throws EgressException {
    if (!pfctl.isEnabled()) {
      long token = pfctl.enable();
      LOG.info(
          "pf was disabled: enabled it with reference {}, which stays taken so that the rules hold"
              + " while no enforcer runs; 'sudo pfctl -X {}' releases it once nothing needs pf"
              + " (the last reference released switches pf off for everyone)",
          token,
          token);
    }
    String rendered = PfRenderer.renderParent(parent);
    try {
      pfctl.loadAnchor(parent.path(), rendered);
    } catch (PfctlTimeoutException e) {
      requireCommitted(e, () -> sameRules(ruleLines(rendered), pfctl.rules(parent.path())));
    }
  }

  /** The child anchor's rules and tables, and {@code pfctl -a PARENT/NAME -f -}. */
  @Override
  public Preview preview(RuleSetName name, EnforcementPlan plan) throws UnsupportedPolicyException {
    AnchorName anchor = AnchorName.of(name);
    return new Preview(
        name,
        plan,
        PfRenderer.renderChild(anchor, plan).text(),
        "pfctl -a " + parent.childPath(anchor) + " -f -");
  }

  /**
   * Exactly one privileged call: {@code pfctl -a PARENT/NAME -f -} with rules and tables. If it
   * times out, what pf holds is read back first ({@link #requireCommitted}).
   */
  @Override
  public void install(RuleSetName name, EnforcementPlan plan) throws EgressException {
    ChildRuleset child = PfRenderer.renderChild(AnchorName.of(name), plan);
    try {
      pfctl.loadAnchor(parent.childPath(child.anchorName()), child.text());
    } catch (PfctlTimeoutException e) {
      requireCommitted(e, () -> holdsRendered(child, false));
    }
  }

  /**
   * One {@code -T replace} per table that holds a changed name, and nothing else; a replace that
   * times out is read back ({@link #requireCommitted}).
   */
  @Override
  public void refreshAddresses(RuleSetName name, EnforcementPlan plan, Set<HostName> changedNames)
      throws EgressException {
    ChildRuleset child = PfRenderer.renderChild(AnchorName.of(name), plan);
    AnchorPath anchor = parent.childPath(child.anchorName());
    for (PfTable table : child.tablesHolding(changedNames)) {
      try {
        pfctl.replaceTable(anchor, table.name(), table.entries());
      } catch (PfctlTimeoutException e) {
        requireCommitted(e, () -> tableAsRendered(anchor, table));
      }
    }
  }

  /** What pf holds now, read with pfctl: whether a load took effect. */
  @FunctionalInterface
  private interface ReadBack {
    boolean holdsTheLoad() throws EgressException;
  }

  /**
   * After a load timed out, pfctl was killed, but it may have committed before it died (pf commits
   * a load whole or not at all). Reads back what pf holds: returns when the load took effect, so
   * that nobody is told it did not; otherwise throws, saying that it did not commit or that the
   * read-back could not tell.
   */
  private static void requireCommitted(PfctlTimeoutException timeout, ReadBack readBack)
      throws PfctlException {
    boolean committed;
    try {
      committed = readBack.holdsTheLoad();
    } catch (EgressException e) {
      PfctlException unknown =
          new PfctlException(
              timeout.command(),
              "pfctl did not finish in time and was killed, and reading back what pf holds failed"
                  + " too ("
                  + e.getMessage()
                  + "): whether the load committed is unknown",
              timeout.hint(),
              timeout);
      unknown.addSuppressed(e);
      throw unknown;
    }
    if (committed) {
      LOG.warn("{} timed out, but pf holds what it loaded: it committed", timeout.command());
      return;
    }
    throw new PfctlException(
        timeout.command(),
        "pfctl did not finish in time and was killed; read back, pf does not hold what it was"
            + " loading, so the load did not commit",
        timeout.hint(),
        timeout);
  }

  /**
   * Whether {@code table} of {@code anchor} holds exactly the rendered entries.
   *
   * @throws PfctlException if pfctl could not show the table (it may not exist)
   */
  private boolean tableAsRendered(AnchorPath anchor, PfTable table) throws PfctlException {
    Set<IpNetwork> loaded = new HashSet<>();
    try {
      pfctl.table(anchor, table.name()).forEach(entry -> loaded.add(IpNetwork.parse(entry)));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return loaded.equals(new HashSet<>(table.entries()));
  }

  /**
   * {@code -a PARENT/NAME -F all}, then {@code -k A} and {@code -k 0.0.0.0/0 -k A} (or {@code
   * ::/0}) for each address, then {@code -s state} to confirm that no state names any of them. A
   * state the kills left (a kill that missed, or a state re-created by another rule meanwhile) gets
   * one more round of kills and a second read; one still there is reported by an exception naming
   * it. The state kills run even when the flush failed (the rules left in place only restrict); the
   * first failure is thrown after all were tried.
   *
   * <p>Why these two kills (pfctl(8): "-k host: kill all of the state entries originating from the
   * specified host"; a second {@code -k} restricts to states from the first to the second): pf
   * matches a state's source as its {@code lan} side, the address before NAT, so {@code -k A} cuts
   * both the state created inbound on the bridge and the NAT'd state on {@code en0} (whose printed
   * middle address is the host's); {@code -k 0.0.0.0/0 -k A} cuts states opened towards the
   * container (the host's connections). A family never matches the other, hence {@code ::/0}.
   */
  @Override
  public void remove(RuleSetName name, List<InetAddress> addresses) throws EgressException {
    EgressException first = null;
    try {
      pfctl.flushAnchor(parent.childPath(AnchorName.of(name)));
    } catch (PfctlException e) {
      first = e;
    }
    first = firstOf(first, killStates(addresses));
    if (first == null) {
      try {
        Map<InetAddress, List<String>> left = statesNaming(addresses);
        if (!left.isEmpty()) {
          LOG.warn("states survived the kills, killing again: {}", left);
          first = killStates(List.copyOf(left.keySet()));
          left = statesNaming(List.copyOf(left.keySet()));
        }
        if (first == null && !left.isEmpty()) {
          first =
              new PfctlException(
                  "pfctl -s state",
                  "connections of the detached container survived two rounds of state kills: "
                      + left,
                  "something re-creates their state (a rule with 'keep state' that matches the"
                      + " container's packets, such as a guard without the bridge named); cut them"
                      + " with 'sudo pfctl -k ADDRESS' and 'sudo pfctl -k 0.0.0.0/0 -k ADDRESS'",
                  null);
        }
      } catch (PfctlException e) {
        first = e;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** Both kills for each address; the first failure, or null. */
  private @Nullable EgressException killStates(List<InetAddress> addresses) {
    EgressException first = null;
    for (InetAddress address : addresses) {
      try {
        pfctl.killStatesFrom(address);
        pfctl.killStatesTo(address);
      } catch (PfctlException e) {
        first = firstOf(first, e);
      }
    }
    return first;
  }

  /** The state lines naming each of {@code addresses} that has any, from one read. */
  private Map<InetAddress, List<String>> statesNaming(List<InetAddress> addresses)
      throws PfctlException {
    Map<InetAddress, List<String>> left = new LinkedHashMap<>();
    String table = pfctl.states();
    for (InetAddress address : addresses) {
      List<String> lines = PfctlOutput.statesNaming(table, address);
      if (!lines.isEmpty()) {
        left.put(address, lines);
      }
    }
    return left;
  }

  private static @Nullable EgressException firstOf(
      @Nullable EgressException first, @Nullable EgressException next) {
    return first != null ? first : next;
  }

  /** {@link PfInspection#childAnchors}: {@code -a PARENT -s Anchors}, then each child's rules. */
  @Override
  public Map<RuleSetName, List<InetAddress>> installed() throws EgressException {
    Map<RuleSetName, List<InetAddress>> installed = new LinkedHashMap<>();
    for (PfInspection.LoadedAnchor anchor : inspection.childAnchors()) {
      installed.put(anchor.name(), anchor.sources());
    }
    return installed;
  }

  /** {@link PfInspection#counters}: {@code -a PARENT -s Anchors}, then each child's statistics. */
  @Override
  public Map<RuleSetName, TrafficCounters> counters() throws EgressException {
    return Map.copyOf(inspection.counters());
  }

  /**
   * Compares the child's loaded rules with what {@link #install} would load now, and each of its
   * tables with the rendered entries. pfctl prints rules normalised, with defaults such as {@code
   * flags S/SA keep state} appended, so each loaded rule must be its rendered text followed by
   * nothing but such a default ({@link #sameRule}).
   */
  @Override
  public boolean isIntact(RuleSetName name, EnforcementPlan plan) throws EgressException {
    return holdsRendered(PfRenderer.renderChild(AnchorName.of(name), plan), true);
  }

  /**
   * Whether the child's anchor holds {@code child}'s rules and tables. A table pfctl cannot show
   * counts as not holding them when {@code unreadableTableDiffers}; otherwise its failure is
   * thrown.
   */
  private boolean holdsRendered(ChildRuleset child, boolean unreadableTableDiffers)
      throws PfctlException {
    AnchorPath anchor = parent.childPath(child.anchorName());
    if (!sameRules(ruleLines(child.text()), pfctl.rules(anchor))) {
      return false;
    }
    for (PfTable table : child.tables()) {
      try {
        if (!tableAsRendered(anchor, table)) {
          return false;
        }
      } catch (PfctlException e) {
        if (!unreadableTableDiffers) {
          throw e;
        }
        LOG.debug("table {} of {} unreadable: {}", table.name(), anchor, e.getMessage());
        return false;
      }
    }
    return true;
  }

  static boolean sameRules(List<String> rendered, List<String> loaded) {
    if (rendered.size() != loaded.size()) {
      return false;
    }
    for (int i = 0; i < rendered.size(); i++) {
      if (!sameRule(rendered.get(i), loaded.get(i))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code loaded} (as pfctl -s rules prints it) is the rule {@code rendered}: the same
   * words, then nothing or one of the defaults pfctl appends ({@code flags S/SA keep state}, {@code
   * keep state}, {@code flags S/SA}; {@code all} after a rule without addresses). Any other
   * trailing word may narrow or change the rule, so it is drift. pfctl may print a port as its
   * service name ({@code port = https}); a name counts only if {@link #SERVICE_PORTS} maps it to
   * the rendered port. Likewise {@code proto ipv6-icmp} for {@code proto icmp6}, and an ICMPv6
   * type's name ({@code icmp6-type neighbrsol}) for its number ({@link #ICMP6_TYPES}).
   */
  static boolean sameRule(String rendered, String loaded) {
    String[] expected = rendered.split(" ");
    String[] actual = loaded.split(" ");
    if (actual.length < expected.length) {
      return false;
    }
    for (int i = 0; i < expected.length; i++) {
      boolean servicePort =
          i > 0 && expected[i - 1].equals("=") && expected[i].equals(SERVICE_PORTS.get(actual[i]));
      boolean icmp6Type =
          i > 0
              && expected[i - 1].equals("icmp6-type")
              && expected[i].equals(ICMP6_TYPES.get(actual[i]));
      // pfctl names protocols as /etc/protocols does: 58 is ipv6-icmp there.
      boolean icmp6 = expected[i].equals("icmp6") && actual[i].equals("ipv6-icmp");
      if (!expected[i].equals(actual[i]) && !servicePort && !icmp6Type && !icmp6) {
        return false;
      }
    }
    String appended = String.join(" ", List.of(actual).subList(expected.length, actual.length));
    return STATE_DEFAULTS.contains(appended)
        || appended.equals("all")
            && !List.of(expected).contains("from")
            && !List.of(expected).contains("to")
            && !List.of(expected).contains("all");
  }

  /**
   * The filter rule lines of a rendered ruleset, as {@code pfctl -s rules} shows them: table
   * definitions and translation rules ({@code rdr}, {@code rdr-anchor}, which {@code -s nat} would
   * show) excluded, whitespace collapsed. The redirect is not read back: without it a container's
   * DNS to other resolvers is refused, never let through.
   */
  static List<String> ruleLines(String text) {
    List<String> lines = new ArrayList<>();
    for (String line : text.split("\n")) {
      String rule = line.strip().replaceAll("\\s+", " ");
      if (!rule.isEmpty()
          && !rule.startsWith("table ")
          && !rule.startsWith("#")
          && !rule.startsWith("rdr ")
          && !rule.startsWith("rdr-anchor ")) {
        lines.add(rule);
      }
    }
    return lines;
  }

  /** Reads {@code -s info}, {@code -s rules} and {@code -a PARENT -s rules}; changes nothing. */
  @Override
  public List<String> hostProblems() throws EgressException {
    List<String> problems = new ArrayList<>();
    if (!pfctl.isEnabled()) {
      problems.add(
          "pf is disabled (someone ran 'pfctl -d', or the Mac restarted): no container"
              + " rule applies. The enforcer re-enables it with a reference of its own ('pfctl -E');"
              + " find and stop whatever disables pf");
    }
    if (parent.reachedByStockMacosRuleset() && !inspection.mainRulesetHooked()) {
      problems.add(
          "the main pf ruleset no longer holds the line 'anchor \"com.apple/*\" all' (it was"
              + " reloaded without it, or with a narrower one), so container rules are not"
              + " evaluated. The enforcer never touches"
              + " the main ruleset: restore the stock /etc/pf.conf, run 'sudo pfctl -f /etc/pf.conf'"
              + " yourself, then restart the container system ('container system stop; container"
              + " system start'), because that reload also drops vmnet's NAT");
    }
    if (!inspection.parentIntact()) {
      problems.add(
          "the parent anchor "
              + parent.path()
              + " is missing or altered, so container"
              + " anchors (and the guard) are not evaluated. The enforcer reloads it");
    }
    return problems;
  }

  /**
   * Holds nothing to release: the enable reference {@link #prepare} may have taken stays taken, so
   * that the rules, which stay, are still evaluated (see the class javadoc).
   */
  @Override
  public void close() {}
}
