package dev.egress.nftables;

import dev.egress.audit.NflogGroups;
import dev.egress.audit.Reason;
import dev.egress.plan.Allow;
import dev.egress.plan.EnforcementPlan;
import dev.egress.plan.Family;
import dev.egress.plan.Target;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Prints nftables scripts for {@code nft -f -}: a pure function of its arguments, and of a
 * container's {@link EnforcementPlan}, whose meaning it only writes down. Every name in the output
 * is generated here or by {@link ChainName} (container ids only ever reach it sanitised), and rule
 * lines are written in the form {@code nft list} prints them back, so that drift checks compare
 * text.
 *
 * <p>Why one class of this size: the table is one text whose parts name each other (maps, sets,
 * chains), and every rule is written in the listing form the drift checks compare; one class keeps
 * each name and each listing form defined once.
 *
 * <p>Layout of the table (family {@code inet}, one per enforcer):
 *
 * <ul>
 *   <li>maps {@code src4}/{@code src6}: container source address → {@code jump <container chain>};
 *   <li>set {@code links}: the interfaces where attached containers live, learned from the kernel's
 *       routes to their addresses; it only grows;
 *   <li>base chains {@code forward} and {@code input} at priority {@code filter - 10} (ahead of
 *       Docker's filter chains at priority 0). On input: whatever arrives on {@code lo} (the host
 *       reaching its own addresses), then neighbour discovery, both accepted; then link-local
 *       sources ({@code fe80::/10}, {@code 169.254.0.0/16}) arriving on {@code links} rejected,
 *       since no container's policy governs them; then replies to connections the host opened,
 *       accepted; then, on both, dispatch by source address and the guard;
 *   <li>chain {@code deny}: TCP reset, ICMP administratively prohibited for the rest;
 *   <li>sets {@code redirect4}/{@code redirect6}: the source addresses of containers whose policy
 *       says {@code dns filter}; base chain {@code dns} (nat, hook prerouting, priority {@code
 *       dstnat - 10}, ahead of Docker's DNAT at {@code dstnat}) sends their TCP and UDP port-53
 *       traffic, to whatever address, to the DNS filter when the enforcer has one;
 *   <li>per container: its chain and, when its policy names hosts, its host sets (one per family,
 *       and one more per family for ranges of ports when its host lines open some), named as {@link
 *       ChainName} says, holding address . protocol . ports elements as {@link HostSets} computes
 *       them. Resolved addresses have no timeout; under {@code dns filter} the sets also hold the
 *       filter's grants, each element with the time its grant has left.
 * </ul>
 *
 * <p>Refusals that a policy or the guard asks to log go to NFLOG, one group per {@link Reason}
 * ({@link NflogGroups}), never to the kernel log: a container's DNS to a resolver its policy does
 * not name ({@code dns-foreign-resolver}) and the rest of what its chain refuses ({@code
 * not-in-policy}; so are link-local sources on container links, which no policy names); the guard's
 * networks ({@code guard-unattached}), then its interfaces ({@code spoofed-source} when the guard
 * also names networks, since whatever a managed network's address sent was refused before;
 * otherwise {@code guard-unattached}). Each logging rule logs up to {@link #LOG_LIMIT} and is
 * followed by the same refusal unlogged, so that a flood from one container cannot blind the log
 * reader to the others.
 *
 * <p>Thread-safe (immutable).
 */
final class NftRenderer {
  static final String FORWARD = "forward";
  static final String INPUT = "input";
  static final String DENY = "deny";

  /**
   * How the comment on a filtered container's host-set rules begins; the rest is the plan's key
   * ({@link #planKey}).
   */
  static final String PLAN_COMMENT = "plan ";

  static final String MAP4 = "src4";
  static final String MAP6 = "src6";
  static final String LINKS = "links";
  static final String DNS = "dns";
  static final String REDIRECT4 = "redirect4";
  static final String REDIRECT6 = "redirect6";
  static final String DNS_HEADER = "type nat hook prerouting priority dstnat - 10; policy accept;";
  static final String LOOPBACK_RULE = "iif \"lo\" accept";
  static final String ESTABLISHED_RULE =
      "ct state established ct direction original counter accept";

  /** How many refusals a rule logs: per rule, so per container (and per guard network). */
  static final String LOG_LIMIT = "limit rate 50/second burst 100 packets";

  static final String HOST_REPLIES_RULE =
      "ct state established ct direction reply fib saddr . iif oif exists accept";
  static final String NEIGHBOUR_DISCOVERY_RULE =
      "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept";

  private static final Pattern TABLE = Pattern.compile("[a-z][a-z0-9_]{0,30}");

  private final String table;
  private final NflogGroups groups;
  private final TimeoutRenewal renewal;

  /**
   * A renderer of {@code table} that logs to the default {@link NflogGroups} and renews timeouts as
   * every kernel takes it ({@link TimeoutRenewal#DELETE_AND_ADD}).
   */
  NftRenderer(String table) {
    this(table, NflogGroups.defaults(), TimeoutRenewal.DELETE_AND_ADD);
  }

  /**
   * @param table the table name: a lower-case letter, then up to 30 of {@code a-z 0-9 _}
   * @param groups the NFLOG groups that logged refusals go to
   * @param renewal how {@link #grant} replaces the timeout of an element a set may hold
   */
  NftRenderer(String table, NflogGroups groups, TimeoutRenewal renewal) {
    if (!TABLE.matcher(table).matches()) {
      throw new IllegalArgumentException(
          "'"
              + table
              + "' is not a usable table name: a lower-case letter, then up to 30"
              + " lower-case letters, digits or '_'");
    }
    this.table = table;
    this.groups = java.util.Objects.requireNonNull(groups, "groups");
    this.renewal = java.util.Objects.requireNonNull(renewal, "renewal");
  }

  String table() {
    return table;
  }

  /**
   * The table skeleton and the base chains: creates what is missing, replaces the base chains'
   * rules (dispatch, guard, and the redirect of DNS to {@code dnsFilter} when not null), leaves
   * containers' chains, sets and map elements alone.
   */
  String prepare(NftGuard guard, @Nullable InetAddress dnsFilter) {
    StringBuilder out = new StringBuilder();
    out.append("table inet ")
        .append(table)
        .append(" {\n")
        .append("  map ")
        .append(MAP4)
        .append(" { type ipv4_addr : verdict; }\n")
        .append("  map ")
        .append(MAP6)
        .append(" { type ipv6_addr : verdict; }\n")
        .append("  set ")
        .append(LINKS)
        .append(" { type ifname; }\n")
        .append("  set ")
        .append(REDIRECT4)
        .append(" { type ipv4_addr; }\n")
        .append("  set ")
        .append(REDIRECT6)
        .append(" { type ipv6_addr; }\n")
        .append("  chain ")
        .append(DNS)
        .append(" { ")
        .append(DNS_HEADER)
        .append(" }\n")
        .append("  chain ")
        .append(DENY)
        .append(" { }\n")
        .append("  chain ")
        .append(FORWARD)
        .append(" { type filter hook forward priority filter - 10; policy accept; }\n")
        .append("  chain ")
        .append(INPUT)
        .append(" { type filter hook input priority filter - 10; policy accept; }\n")
        .append("}\n");
    for (String chain : List.of(DENY, FORWARD, INPUT, DNS)) {
      out.append("flush chain inet ").append(table).append(' ').append(chain).append('\n');
    }
    appendRules(out, DNS, dnsChainRules(dnsFilter));
    appendRules(out, DENY, denyChainRules());
    appendRules(out, FORWARD, baseChainRules(FORWARD, guard));
    appendRules(out, INPUT, baseChainRules(INPUT, guard));
    return out.toString();
  }

  static List<String> denyChainRules() {
    return List.of(
        "meta l4proto tcp counter reject with tcp reset",
        "counter reject with icmpx admin-prohibited");
  }

  /**
   * The redirect of listed containers' DNS to {@code dnsFilter}, in listing form: none without a
   * filter. Only the filter's family is redirected; the other family's port 53 reaches no resolver.
   */
  static List<String> dnsChainRules(@Nullable InetAddress dnsFilter) {
    if (dnsFilter == null) {
      return List.of();
    }
    boolean ipv6 = IpAddresses.isIpv6(dnsFilter);
    return List.of(
        (ipv6 ? "ip6 saddr @" + REDIRECT6 : "ip saddr @" + REDIRECT4)
            + " meta l4proto { tcp, udp } th dport 53 dnat "
            + (ipv6 ? "ip6" : "ip")
            + " to "
            + IpAddresses.format(dnsFilter));
  }

  /** The rules of base chain {@code chain}, in listing form. */
  List<String> baseChainRules(String chain, NftGuard guard) {
    List<String> rules = new ArrayList<>();
    if (chain.equals(INPUT)) {
      // Only the host's own traffic arrives on lo: the host reaching its own bridge address, whose
      // source is that address (inside a guarded network), is no container's.
      rules.add(LOOPBACK_RULE);
      // Neighbour discovery is link-local and never forwarded; without it no IPv6 works at all.
      rules.add(NEIGHBOUR_DISCOVERY_RULE);
      // Every container has a link-local address; no policy names it, so on container links it
      // reaches nothing. (The kernel never forwards link-local sources: input is the only path.)
      rules.addAll(
          deny(
              "ip6 saddr fe80::/10 iifname @" + LINKS + " ",
              guard.logDenied(),
              Reason.NOT_IN_POLICY));
      rules.addAll(
          deny(
              "ip saddr 169.254.0.0/16 iifname @" + LINKS + " ",
              guard.logDenied(),
              Reason.NOT_IN_POLICY));
      // A container's replies to connections the host opened (a host process, or docker-proxy for
      // a port published on the host) go only to the host socket that asked. What a container
      // opens stays its policy's; what the host opens towards it is the host's choice. Only from a
      // source routed back through the interface it came in on: a container forging the address
      // of a server the host talks to would otherwise pass as that server's reply.
      rules.add(HOST_REPLIES_RULE);
    }
    rules.add("ip saddr vmap @" + MAP4);
    rules.add("ip6 saddr vmap @" + MAP6);
    for (IpNetwork network : guard.networks()) {
      rules.addAll(
          deny(
              (network.isIpv6() ? "ip6" : "ip") + " saddr " + network + " ",
              guard.logDenied(),
              Reason.GUARD_UNATTACHED));
    }
    Reason onInterface =
        guard.networks().isEmpty() ? Reason.GUARD_UNATTACHED : Reason.SPOOFED_SOURCE;
    for (String name : guard.interfaces()) {
      rules.addAll(deny("iifname \"" + name + "\" ", guard.logDenied(), onInterface));
    }
    return rules;
  }

  /**
   * {@link #install(ChainName, EnforcementPlan, Collection, Collection, Collection, Instant)} with
   * nothing known to be stale, no link learned, and no grant (a plan that holds grants needs the
   * time).
   */
  String install(ChainName chain, EnforcementPlan plan) {
    if (!plan.grants().isEmpty()) {
      throw new IllegalArgumentException("a plan with grants renders at a given time");
    }
    return install(chain, plan, List.of(), List.of(), List.of(), List.of(), Instant.EPOCH);
  }

  /**
   * One transaction that makes {@code plan} the complete rule set of {@code chain}: the chain
   * flushed and refilled, its host sets refilled, its source addresses dispatched to it, and what
   * earlier loads of the rule set left that {@code plan} no longer has dropped.
   *
   * @param staleAddresses addresses the maps may still send to this chain although {@code plan}
   *     does not list them; an element that points to another chain fails the transaction
   * @param staleSets sets of this chain that {@code plan} no longer uses
   * @param staleRedirects addresses the redirect sets may still hold for this rule set although
   *     {@code plan} does not redirect them
   * @param links the interfaces where the container lives, added to {@code links}
   * @param now when the load happens: a grant gets the time it has left from then (one that has
   *     ended by then is left out)
   */
  String install(
      ChainName chain,
      EnforcementPlan plan,
      Collection<InetAddress> staleAddresses,
      Collection<String> staleSets,
      Collection<InetAddress> staleRedirects,
      Collection<String> links,
      Instant now) {
    StringBuilder out = new StringBuilder();
    out.append("add chain inet ").append(table).append(' ').append(chain).append('\n');
    out.append("flush chain inet ").append(table).append(' ').append(chain).append('\n');
    Map<String, Map<SetElement, Instant>> grants = grants(chain, plan);
    sets(chain, plan)
        .forEach(
            (set, elements) ->
                appendSet(out, set, elements, grants.getOrDefault(set, Map.of()), now));
    appendRules(out, chain.value(), chainRules(chain, plan));
    for (InetAddress source : plan.sources()) {
      String element = IpAddresses.format(source);
      String map = IpAddresses.isIpv6(source) ? MAP6 : MAP4;
      String prefix = " element inet " + table + " " + map + " { " + element;
      // add-delete-add: replaces the element whether or not it existed, in one transaction.
      out.append("add").append(prefix).append(" : jump ").append(chain).append(" }\n");
      out.append("delete").append(prefix).append(" }\n");
      out.append("add").append(prefix).append(" : jump ").append(chain).append(" }\n");
    }
    appendDiscardedElements(out, chain, staleAddresses);
    appendRedirects(out, redirects(plan), true);
    appendRedirects(out, staleRedirects, false);
    appendDiscardedSets(out, staleSets);
    if (!links.isEmpty()) {
      out.append("add element inet ")
          .append(table)
          .append(' ')
          .append(LINKS)
          .append(
              links.stream()
                  .map(link -> "\"" + link + "\"")
                  .collect(Collectors.joining(", ", " { ", " }\n")));
    }
    return out.toString();
  }

  /**
   * One transaction that refills the container's host sets when {@code changed} names one of them
   * (its grants with the time they have left at {@code now}) and touches nothing else; empty when
   * it names none.
   */
  String refresh(ChainName chain, EnforcementPlan plan, Set<HostName> changed, Instant now) {
    if (plan.names().stream().noneMatch(changed::contains)) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    Map<String, Map<SetElement, Instant>> grants = grants(chain, plan);
    sets(chain, plan)
        .forEach(
            (set, elements) ->
                appendSet(out, set, elements, grants.getOrDefault(set, Map.of()), now));
    return out.toString();
  }

  /**
   * One transaction that puts {@code additions} into the container's host sets with the time each
   * has left at {@code now}, replacing the timeout of an element granted before as the renderer's
   * {@link TimeoutRenewal} says (one add, or add, delete, add). An element shared with another
   * name's grant keeps the later end of the two; one that a resolved address of the plan already
   * holds without a timeout is not touched.
   *
   * @param plan the plan before the additions
   */
  String grant(
      ChainName chain,
      EnforcementPlan plan,
      Map<HostName, Map<InetAddress, Instant>> additions,
      Instant now) {
    StringBuilder out = new StringBuilder();
    granting(chain, plan, additions, now)
        .forEach(
            (set, granted) -> {
              List<Map.Entry<SetElement, Instant>> lasting = lasting(granted, now);
              String qualified = "inet " + table + " " + set;
              String elements = timedElements(lasting, now, renewal == TimeoutRenewal.ADD_REPLACES);
              String add = "add element " + qualified + " { " + elements + " }\n";
              out.append(add);
              if (renewal == TimeoutRenewal.DELETE_AND_ADD) {
                String bare =
                    lasting.stream()
                        .map(grant -> grant.getKey().toString())
                        .collect(Collectors.joining(", "));
                out.append("delete element ").append(qualified).append(" { ").append(bare);
                out.append(" }\n");
                out.append(add);
              }
            });
    return out.toString();
  }

  /**
   * What {@link #grant} writes, by host set in rendering order: the elements of the additions'
   * addresses that last at {@code now}, each with its end; sets it does not touch are left out.
   *
   * @param plan the plan before the additions
   */
  static Map<String, Map<SetElement, Instant>> granting(
      ChainName chain,
      EnforcementPlan plan,
      Map<HostName, Map<InetAddress, Instant>> additions,
      Instant now) {
    Set<InetAddress> added = new HashSet<>();
    additions.values().forEach(until -> added.addAll(until.keySet()));
    // Only the grants of the added addresses decide what the grant writes: the plan after it,
    // reduced to those, looked up so that a grant neither copies nor walks every grant held.
    Map<HostName, Map<InetAddress, Instant>> relevant = new HashMap<>();
    plan.grants()
        .forEach(
            (name, until) ->
                added.forEach(
                    address -> {
                      Instant end = until.get(address);
                      if (end != null) {
                        relevant.computeIfAbsent(name, n -> new HashMap<>()).put(address, end);
                      }
                    }));
    Map<String, Map<SetElement, Instant>> writes =
        grants(chain, plan.withGrants(withAdditions(relevant, additions)));
    writes.values().forEach(granted -> granted.values().removeIf(until -> !until.isAfter(now)));
    writes.values().removeIf(Map::isEmpty);
    return writes;
  }

  /** {@code granted} with {@code additions} in it: a name's addition replaces its grant. */
  static Map<HostName, Map<InetAddress, Instant>> withAdditions(
      Map<HostName, Map<InetAddress, Instant>> granted,
      Map<HostName, Map<InetAddress, Instant>> additions) {
    Map<HostName, Map<InetAddress, Instant>> merged = new LinkedHashMap<>();
    granted.forEach((grantee, until) -> merged.put(grantee, new LinkedHashMap<>(until)));
    additions.forEach(
        (grantee, until) ->
            merged.computeIfAbsent(grantee, g -> new LinkedHashMap<>()).putAll(until));
    return merged;
  }

  /**
   * One transaction that removes a container's rule set: its dispatch elements, chain and sets. The
   * chain is deleted through add-flush-delete, so an absent chain is no error; so are absent
   * elements and absent host sets ({@link ChainName#setName}).
   *
   * @param dispatched the source addresses that the maps may send to {@code chain}
   * @param setNames the sets of {@code chain}: its host sets, or others that exist now
   * @param redirected the addresses of the rule set the redirect sets may hold
   */
  String remove(
      ChainName chain,
      Collection<InetAddress> dispatched,
      Collection<String> setNames,
      Collection<InetAddress> redirected) {
    StringBuilder out = new StringBuilder();
    appendDiscardedElements(out, chain, dispatched);
    appendRedirects(out, redirected, false);
    out.append("add chain inet ").append(table).append(' ').append(chain).append('\n');
    out.append("flush chain inet ").append(table).append(' ').append(chain).append('\n');
    out.append("delete chain inet ").append(table).append(' ').append(chain).append('\n');
    appendDiscardedSets(out, setNames);
    return out.toString();
  }

  /**
   * Deletes the dispatch elements of {@code addresses} that point to {@code chain} or are absent
   * (add, then delete): one that points to another chain fails the transaction (File exists), so
   * another container's element is never deleted.
   */
  private void appendDiscardedElements(
      StringBuilder out, ChainName chain, Collection<InetAddress> addresses) {
    for (InetAddress source : addresses) {
      String prefix =
          " element inet "
              + table
              + " "
              + (IpAddresses.isIpv6(source) ? MAP6 : MAP4)
              + " { "
              + IpAddresses.format(source);
      out.append("add").append(prefix).append(" : jump ").append(chain).append(" }\n");
      out.append("delete").append(prefix).append(" }\n");
    }
  }

  /**
   * Puts {@code sources} into the redirect sets ({@code redirect}) or makes sure they are not there
   * (add, then delete: no error when absent).
   */
  private void appendRedirects(
      StringBuilder out, Collection<InetAddress> sources, boolean redirect) {
    for (InetAddress source : sources) {
      String element =
          " element inet "
              + table
              + " "
              + (IpAddresses.isIpv6(source) ? REDIRECT6 : REDIRECT4)
              + " { "
              + IpAddresses.format(source)
              + " }\n";
      out.append("add").append(element);
      if (!redirect) {
        out.append("delete").append(element);
      }
    }
  }

  /**
   * Deletes sets: host sets ({@link ChainName#setName}) whether or not they exist (add, then
   * delete), any other by name (it must exist).
   */
  private void appendDiscardedSets(StringBuilder out, Collection<String> sets) {
    for (String set : sets) {
      String qualified = "inet " + table + " " + set;
      if (ChainName.isHostSet(set)) {
        out.append("add set ").append(qualified).append(setType(set)).append('\n');
      }
      out.append("delete set ").append(qualified).append('\n');
    }
  }

  /**
   * The container's host sets, each with its elements without a timeout (resolved addresses), in
   * rendering order; none when the plan names no host.
   */
  static Map<String, Set<SetElement>> sets(ChainName chain, EnforcementPlan plan) {
    HostSets hostSets = HostSets.of(plan);
    Map<String, Set<SetElement>> sets = new LinkedHashMap<>();
    hostSetNames(chain, hostSets).forEach(set -> sets.put(set, new TreeSet<>()));
    for (Family family : Family.values()) {
      hostSets
          .resolved(plan, family)
          .forEach(
              element ->
                  sets.computeIfAbsent(setOf(chain, element), set -> new TreeSet<>()).add(element));
    }
    return sets;
  }

  /**
   * The grants of the container's host sets, by set: each element with a timeout and the end of its
   * grant ({@link HostSets#granted}); an element a resolved address holds is left out.
   */
  static Map<String, Map<SetElement, Instant>> grants(ChainName chain, EnforcementPlan plan) {
    HostSets hostSets = HostSets.of(plan);
    Map<String, Map<SetElement, Instant>> grants = new LinkedHashMap<>();
    hostSetNames(chain, hostSets).forEach(set -> grants.put(set, new TreeMap<>()));
    for (Family family : Family.values()) {
      hostSets
          .granted(plan, family)
          .forEach(
              (element, until) ->
                  grants
                      .computeIfAbsent(setOf(chain, element), set -> new TreeMap<>())
                      .put(element, until));
    }
    return grants;
  }

  /**
   * The container's host sets in rendering order: per family, the set of single ports and, when
   * some element is a range, the set of ranges; none without host lines.
   */
  private static List<String> hostSetNames(ChainName chain, HostSets hostSets) {
    List<String> names = new ArrayList<>();
    if (!hostSets.isEmpty()) {
      for (Family family : Family.values()) {
        names.add(chain.setName(family, false));
        if (hostSets.hasRanges()) {
          names.add(chain.setName(family, true));
        }
      }
    }
    return names;
  }

  /** The host set that holds {@code element}. */
  private static String setOf(ChainName chain, SetElement element) {
    return chain.setName(Family.of(element.address()), !element.ports().isSinglePort());
  }

  /** The sources whose port-53 traffic the plan redirects to its DNS filter: all or none. */
  static List<InetAddress> redirects(EnforcementPlan plan) {
    return plan.dnsFilter() == null ? List.of() : plan.sources();
  }

  /** The container chain's rules, in listing form. */
  List<String> chainRules(ChainName chain, EnforcementPlan plan) {
    List<String> out = new ArrayList<>();
    // Connections the container opened while its policy allowed them; never inbound ones.
    out.add(ESTABLISHED_RULE);
    for (Family family : Family.values()) {
      List<InetAddress> resolvers = plan.resolvers(family);
      if (!resolvers.isEmpty()) {
        out.add(
            match(family)
                + anonymousSet(resolvers)
                + " meta l4proto { tcp, udp } th dport 53 counter accept");
      }
    }
    for (Allow allow : plan.allows()) {
      String ports = ports(allow);
      out.addAll(
          allow
              .target()
              .match(
                  new Target.Cases<List<String>>() {
                    @Override
                    public List<String> network(IpNetwork network) {
                      return List.of(match(Family.of(network)) + network + " " + ports);
                    }

                    @Override
                    public List<String> addressSet(HostName name) {
                      return List.of(); // the host sets' rules below carry every host line
                    }

                    @Override
                    public List<String> anyAddress() {
                      return List.of(ports);
                    }
                  }));
    }
    HostSets hostSets = HostSets.of(plan);
    int firstHostSetRule = out.size();
    for (String set : hostSetNames(chain, hostSets)) {
      out.add(
          match(set.endsWith("6") ? Family.IPV6 : Family.IPV4)
              + ". meta l4proto . th dport @"
              + set
              + " counter accept");
    }
    int hostSetRules = out.size() - firstHostSetRule;
    if (plan.logDenied()) {
      // Port 53 is never opened by an allow line: what reaches here went to another resolver.
      out.addAll(deny("meta l4proto { tcp, udp } th dport 53 ", true, Reason.DNS_FOREIGN_RESOLVER));
    }
    out.addAll(deny("", plan.logDenied(), Reason.NOT_IN_POLICY));
    if (plan.dnsFilter() != null && hostSetRules > 0) {
      String comment = " comment \"" + PLAN_COMMENT + planKey(plan, hostSets, out) + "\"";
      for (int i = firstHostSetRule; i < firstHostSetRule + hostSetRules; i++) {
        out.set(i, out.get(i) + comment);
      }
    }
    return out;
  }

  /**
   * A key to what the grants in a container's host sets mean: a digest of its sources, its rules
   * (before the comment that carries the key) and which pieces of ports each name's grant writes
   * ({@link HostSets#keyText}). Sets are per container, not per name, so an element found in the
   * kernel says which name it was granted to only under the plan it was granted under: {@link
   * NftBackend#grantsHeld} takes over grants only from host-set rules that carry the key of the
   * plan at hand. 128 bits of SHA-256, in hex.
   */
  private static String planKey(EnforcementPlan plan, HostSets hostSets, List<String> rules) {
    StringBuilder text = new StringBuilder();
    plan.sources().forEach(source -> text.append(IpAddresses.format(source)).append('\n'));
    rules.forEach(rule -> text.append(rule).append('\n'));
    text.append(hostSets.keyText());
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(text.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /**
   * The rules that refuse what {@code match} matches: {@code MATCH counter goto deny}, or when
   * logged, first {@code MATCH limit rate ... log group N counter goto deny} (the group says why)
   * and then the unlogged rule for what exceeds the limit. Each rule keeps its own limit, so one
   * container flooding refused packets cannot fill the log reader's queue and blind it to the
   * others; what it sends beyond the limit is still refused and counted, not logged.
   */
  private List<String> deny(String match, boolean log, Reason reason) {
    String refuse = match + "counter goto " + DENY;
    if (!log) {
      return List.of(refuse);
    }
    return List.of(
        match + LOG_LIMIT + " log group " + groups.group(reason) + " counter goto " + DENY, refuse);
  }

  private static String match(Family family) {
    return family == Family.IPV6 ? "ip6 daddr " : "ip daddr ";
  }

  /** {@code tcp dport 443 counter accept}; ports around 53 as a set of the two ranges. */
  private static String ports(Allow allow) {
    List<String> pieces = new ArrayList<>();
    for (PortRange range : allow.ports().ranges()) {
      pieces.add(span(range.first(), range.last()));
    }
    String set = pieces.size() == 1 ? pieces.get(0) : "{ " + String.join(", ", pieces) + " }";
    return allow.protocol().keyword() + " dport " + set + " counter accept";
  }

  private static String span(int first, int last) {
    return first == last ? Integer.toString(first) : first + "-" + last;
  }

  /** A single address bare, several in braces sorted by value, as nft lists them. */
  private static String anonymousSet(List<InetAddress> addresses) {
    List<IpNetwork> sorted =
        addresses.stream().map(IpNetwork::host).sorted().collect(Collectors.toList());
    if (sorted.size() == 1) {
      return sorted.get(0).toString();
    }
    return sorted.stream().map(IpNetwork::toString).collect(Collectors.joining(", ", "{ ", " }"));
  }

  /**
   * A host set's declaration: grants have a timeout; ranges of ports are intervals, single ports
   * hashed (an interval set's every update costs time in proportion to what it holds).
   */
  private static String setType(String set) {
    return " { type "
        + (set.endsWith("6") ? "ipv6_addr" : "ipv4_addr")
        + " . inet_proto . inet_service; flags "
        + (ChainName.holdsRanges(set) ? "interval, timeout" : "timeout")
        + "; }";
  }

  /**
   * Declares {@code set} if missing and refills it: {@code resolved} without a timeout, and each of
   * {@code granted} that {@code resolved} lacks with the time it has left at {@code now}.
   *
   * <p>Only ever after {@code flush set}: adding an element that is there replaces its timeout,
   * both ways (kernel 6.18: adding one without a timeout over a grant makes it permanent; with one
   * over a resolved element makes it expire), so elements without a timeout go into an emptied set
   * only, and {@link #grant} leaves out those a resolved address holds.
   */
  private void appendSet(
      StringBuilder out,
      String set,
      Set<SetElement> resolved,
      Map<SetElement, Instant> granted,
      Instant now) {
    String qualified = "inet " + table + " " + set;
    out.append("add set ").append(qualified).append(setType(set)).append('\n');
    out.append("flush set ").append(qualified).append('\n');
    if (!resolved.isEmpty()) {
      out.append("add element ")
          .append(qualified)
          .append(
              resolved.stream()
                  .sorted()
                  .map(SetElement::toString)
                  .collect(Collectors.joining(", ", " { ", " }\n")));
    }
    Map<SetElement, Instant> timed = new LinkedHashMap<>(granted);
    timed.keySet().removeAll(resolved);
    List<Map.Entry<SetElement, Instant>> lasting = lasting(timed, now);
    if (!lasting.isEmpty()) {
      out.append("add element ")
          .append(qualified)
          .append(" { ")
          .append(timedElements(lasting, now))
          .append(" }\n");
    }
  }

  /** The grants that have not ended at {@code now}, sorted by element. */
  private static List<Map.Entry<SetElement, Instant>> lasting(
      Map<SetElement, Instant> granted, Instant now) {
    return granted.entrySet().stream()
        .filter(grant -> grant.getValue().isAfter(now))
        .sorted(Map.Entry.comparingByKey())
        .collect(Collectors.toList());
  }

  /**
   * {@code a timeout 1500ms, b timeout ...}: each of {@code lasting} with the time it has left at
   * {@code now}, rounded up to a millisecond.
   */
  private static String timedElements(List<Map.Entry<SetElement, Instant>> lasting, Instant now) {
    return timedElements(lasting, now, false);
  }

  /**
   * As {@link #timedElements(List, Instant)}, each also with {@code expires} of the same time when
   * {@code expiring}: the kernel (6.12 on) replaces an element's end on a second add only when it
   * is given one or the timeout differs (to the jiffy) from the first add's.
   */
  private static String timedElements(
      List<Map.Entry<SetElement, Instant>> lasting, Instant now, boolean expiring) {
    return lasting.stream()
        .map(
            grant -> {
              Duration left = Duration.between(now, grant.getValue());
              long millis = left.toMillis() + (left.toNanosPart() % 1_000_000 == 0 ? 0 : 1);
              return grant.getKey()
                  + " timeout "
                  + millis
                  + "ms"
                  + (expiring ? " expires " + millis + "ms" : "");
            })
        .collect(Collectors.joining(", "));
  }

  private void appendRules(StringBuilder out, String chain, List<String> rules) {
    for (String rule : rules) {
      out.append("add rule inet ")
          .append(table)
          .append(' ')
          .append(chain)
          .append(' ')
          .append(rule)
          .append('\n');
    }
  }
}
