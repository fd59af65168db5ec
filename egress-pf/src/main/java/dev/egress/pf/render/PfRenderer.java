package dev.egress.pf.render;

import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.TableName;
import dev.egress.plan.Allow;
import dev.egress.plan.EnforcementPlan;
import dev.egress.plan.Family;
import dev.egress.plan.Ports;
import dev.egress.plan.Target;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Prints pf rulesets: the parent anchor, and a container's child anchor with its tables from its
 * {@link EnforcementPlan}. What the rules mean is the plan's; this class only chooses pf's words.
 *
 * <p>Why one class of this size: the child anchor is one text in a fixed rule order (below) that
 * the read-back compares rule for rule; what the rules mean is already the plan's.
 *
 * <p>A child ruleset defines its tables ({@code table <NAME> persist { ... }}); under {@code dns
 * filter} ({@link EnforcementPlan#dnsFilter}) it then redirects, for each source address of the
 * filter's family, TCP and UDP port 53 to any address to the filter ({@code rdr}, see {@link
 * #redirect}); then it holds, for each of the container's source addresses (IPv4 first, then IPv6,
 * each in address order):
 *
 * <ol>
 *   <li>DNS to the plan's resolvers: TCP and UDP port 53, to the one resolver of the family or to
 *       table {@code <dns>} (under {@code dns filter}, the filter alone);
 *   <li>one pass rule per (protocol, port range) of the plan's allow lines, to {@code any}, to
 *       table {@code <PROTO_PORTS>} (address sets, which may hold either family, or several
 *       networks), or inline to the one network. Under {@code dns filter} each host name has a
 *       table of its own instead ({@link TableName#forHostName}, a wildcard's empty until the
 *       filter grants), and a group gets one rule per name table besides its networks' rule. Port
 *       sets that go across 53 (which the plan never opens) get a rule per range on either side.
 *       Targets that a line with the same protocol and more ports already passes get no rule or
 *       entry of their own;
 *   <li>for an IPv6 address, neighbour discovery (see {@link #NEIGHBOUR_DISCOVERY}): its neighbour
 *       solicitations and advertisements (ICMPv6 types 135 and 136), {@code no state}, to the
 *       link-local and link-scope multicast destinations ND uses and to the address's own on-link
 *       /64 (where the gateway is), and nowhere else;
 *   <li>{@code block return} of everything else from that address, with {@code log} when the plan
 *       logs denials.
 * </ol>
 *
 * <p>Every rule is {@code in} and {@code quick} and names its address family; a family the
 * container has no address of gets no rule. Rules depend on the plan's rules alone, never on its
 * address sets: a refresh only replaces tables. No rule holds a {@code { }} list of addresses or
 * types: pfctl would expand it into one rule per element, and the read-back compares rule for rule.
 *
 * <p>Pure: the same input gives byte-identical output. Stateless and thread-safe; never blocks.
 */
public final class PfRenderer {
  /**
   * Tables one container may use. pf allows 1000 tables on the whole host by default ({@code set
   * limit tables}), shared by every anchor.
   */
  public static final int MAX_TABLES_PER_CONTAINER = 100;

  private static final TableName DNS_TABLE = new TableName("dns");

  /**
   * ICMPv6 neighbour solicitation and advertisement (RFC 4861). pf filters ND like any packet, so
   * without these a container's final block (and a bridge guard) would cut IPv6 off at the link.
   * Written as numbers: pfctl versions differ in the names they know.
   */
  static final List<Integer> NEIGHBOUR_DISCOVERY = List.of(135, 136);

  /** ICMPv6 router solicitation, which guests that still run SLAAC send to all routers. */
  static final int ROUTER_SOLICITATION = 133;

  /**
   * Where ND goes on the link: link-local unicast, all nodes (unsolicited and DAD-defending
   * advertisements) and the solicited-node groups. All link-scope: never forwarded by the host.
   */
  static final IpNetwork LINK_LOCAL = IpNetwork.parse("fe80::/10");

  static final IpNetwork SOLICITED_NODES = IpNetwork.parse("ff02::1:ff00:0/104");

  static final List<IpNetwork> LINK_DESTINATIONS =
      List.of(LINK_LOCAL, IpNetwork.parse("ff02::1"), SOLICITED_NODES);

  /** Where router solicitations go. */
  static final IpNetwork ALL_ROUTERS = IpNetwork.parse("ff02::2");

  private PfRenderer() {}

  /**
   * Prints the anchor {@code name} of a container from its plan.
   *
   * @throws UnsupportedPolicyException if the plan needs more than {@link
   *     #MAX_TABLES_PER_CONTAINER} tables
   */
  public static ChildRuleset renderChild(AnchorName name, EnforcementPlan plan)
      throws UnsupportedPolicyException {
    List<PfTarget> tables = new ArrayList<>();
    @Nullable PfTarget dns = literalTarget(DNS_TABLE, hosts(plan.resolvers()));
    if (dns != null && dns.table != null) {
      tables.add(dns);
    }
    Map<PassKey, List<PfTarget>> passes = new TreeMap<>();
    Map<HostName, PfTarget> nameTables = new TreeMap<>();
    for (Map.Entry<PassKey, List<Target>> group : groupByPorts(plan).entrySet()) {
      List<PfTarget> targets = targets(group.getKey(), group.getValue(), plan, nameTables);
      passes.put(group.getKey(), targets);
      for (PfTarget target : targets) {
        if (target.table != null && !tables.contains(target)) {
          tables.add(target);
        }
      }
    }

    Set<Family> containerFamilies = EnumSet.noneOf(Family.class);
    plan.sources().forEach(a -> containerFamilies.add(Family.of(a)));
    List<PfTable> usedTables = new ArrayList<>();
    for (PfTarget target : tables) {
      if (target.table != null && !Collections.disjoint(target.families, containerFamilies)) {
        usedTables.add(target.table);
      }
    }
    if (usedTables.size() > MAX_TABLES_PER_CONTAINER) {
      throw new UnsupportedPolicyException(
          "the policy needs "
              + usedTables.size()
              + " pf tables, more than the "
              + MAX_TABLES_PER_CONTAINER
              + " one container may use",
          "merge single ports into ranges, or give destinations that share ports the same ports");
    }

    StringBuilder out = new StringBuilder();
    for (PfTable table : usedTables) {
      out.append(table.definition()).append('\n');
    }
    @Nullable InetAddress filter = plan.dnsFilter();
    if (filter != null) {
      // Translation rules come before filter rules in an anchor file (pfctl's require-order).
      for (InetAddress source : sortedSources(plan)) {
        if (Family.of(source) == Family.of(filter)) {
          for (Protocol protocol : Protocol.values()) {
            out.append(redirect(source, protocol, filter));
          }
        }
      }
    }
    String block = plan.logDenied() ? "block return in log quick " : "block return in quick ";
    for (InetAddress source : sortedSources(plan)) {
      Family family = Family.of(source);
      String af = keyword(family) + " ";
      String src = " from " + IpAddresses.format(source) + " to ";
      if (dns != null && dns.families.contains(family)) {
        for (Protocol protocol : Protocol.values()) {
          out.append("pass in quick ")
              .append(af)
              .append("proto ")
              .append(protocol.keyword())
              .append(src)
              .append(dns.operand)
              .append(" port = ")
              .append(PortRange.DNS_PORT)
              .append('\n');
        }
      }
      passes.forEach(
          (key, targets) -> {
            for (PfTarget target : targets) {
              if (!target.families.contains(family)) {
                continue;
              }
              for (PortRange range : key.ports.ranges()) {
                out.append("pass in quick ")
                    .append(af)
                    .append("proto ")
                    .append(key.protocol.keyword())
                    .append(src)
                    .append(target.operand)
                    .append(' ')
                    .append(portClause(range))
                    .append('\n');
              }
            }
          });
      if (family == Family.IPV6) {
        List<IpNetwork> destinations = new ArrayList<>(LINK_DESTINATIONS);
        // Apple derives a guest's IPv6 address by EUI-64 inside the network's prefix: a /64.
        IpNetwork onLink = IpNetwork.containing(source, 64);
        if (!LINK_LOCAL.contains(source)) {
          destinations.add(onLink);
        }
        for (IpNetwork destination : destinations) {
          for (int type : NEIGHBOUR_DISCOVERY) {
            out.append(icmp6Pass("", IpAddresses.format(source), destination, type));
          }
        }
      }
      out.append(block).append(keyword(family)).append(src).append("any\n");
    }
    return new ChildRuleset(name, out.toString(), usedTables);
  }

  /**
   * The contents of one table of the container's anchor, for {@code pfctl -a PARENT/NAME -t TABLE
   * -T replace -f -}: one address or network per line. Use {@link ChildRuleset#tablesHolding} to
   * find the tables a change of addresses touches.
   *
   * @throws UnsupportedPolicyException as {@link #renderChild} does
   * @throws IllegalArgumentException if the anchor has no such table
   */
  public static String renderTable(AnchorName name, EnforcementPlan plan, TableName tableName)
      throws UnsupportedPolicyException {
    return renderChild(name, plan).table(tableName).contents();
  }

  /**
   * Renders the parent anchor: {@code rdr-anchor "*"}, which evaluates the translation rules of
   * every container's anchor (a {@code dns filter} container's {@code rdr}; pfctl wants translation
   * before filtering), {@code anchor "*"}, which evaluates their filter rules, then the guard when
   * there is one. The guard comes last so that it sees only what no container anchor passed; its
   * rules are {@code quick} too, so that rules evaluated after the parent (such as Apple's
   * non-quick internet-sharing passes) cannot undo it.
   *
   * <p>Guard rules: {@code block return in quick on ! lo0 FAMILY from SUBNET to any} per subnet
   * (lo0 is exempt: the host's own traffic to its address on the network, such as a proxy on the
   * gateway, loops back with that source address), and {@code block return in quick on BRIDGE all}
   * when the bridge is known, which also catches forged source addresses.
   *
   * <p>When the bridge is known, before the guard's blocks:
   *
   * <ul>
   *   <li>link-local neighbour discovery, which belongs to no single container: duplicate address
   *       detection (a solicitation from {@code ::} to a solicited-node group), solicitations and
   *       advertisements from {@code fe80::/10} to the link destinations, router solicitations from
   *       {@code fe80::/10} to all routers ({@code ff02::2}); {@code no state}, nothing else;
   *   <li>per subnet, a stateful {@code pass out} of the host's own connections into it (TCP from
   *       the SYN, {@code flags S/SA}, and UDP) from the bridge's own addresses ({@code (BRIDGE)}),
   *       so that a container's answers to the host (published ports, the host connecting to it)
   *       match that state. The container opens nothing new by it: a state starts only with the
   *       host's packet.
   * </ul>
   */
  public static String renderParent(ParentAnchor parent) {
    StringBuilder out = new StringBuilder("rdr-anchor \"*\"\nanchor \"*\"\n");
    ManagedNetwork guard = parent.guard();
    if (guard == null) {
      return out.toString();
    }
    String bridge = guard.bridgeInterface();
    if (bridge != null) {
      String on = "on " + bridge + " ";
      // Duplicate address detection: a solicitation from the unspecified address.
      out.append(icmp6Pass(on, "::", SOLICITED_NODES, NEIGHBOUR_DISCOVERY.get(0)));
      for (IpNetwork destination : LINK_DESTINATIONS) {
        for (int type : NEIGHBOUR_DISCOVERY) {
          out.append(icmp6Pass(on, LINK_LOCAL.toString(), destination, type));
        }
      }
      out.append(icmp6Pass(on, LINK_LOCAL.toString(), ALL_ROUTERS, ROUTER_SOLICITATION));
      for (IpNetwork subnet : guard.subnets()) {
        String prefix = "pass out quick " + on + (subnet.isIpv6() ? "inet6" : "inet") + " proto ";
        String hosts = " from (" + bridge + ") to " + subnet;
        out.append(prefix).append("tcp").append(hosts).append(" flags S/SA keep state\n");
        out.append(prefix).append("udp").append(hosts).append(" keep state\n");
      }
    }
    String block =
        parent.logGuarded() ? "block return in log quick on " : "block return in quick on ";
    for (IpNetwork subnet : guard.subnets()) {
      out.append(block)
          .append("! lo0 ")
          .append(subnet.isIpv6() ? "inet6" : "inet")
          .append(" from ")
          .append(subnet)
          .append(" to any\n");
    }
    if (bridge != null) {
      out.append(block).append(bridge).append(" all\n");
    }
    return out.toString();
  }

  /** {@code pass in quick [on IF ]inet6 proto icmp6 from SOURCE to DEST icmp6-type T no state}. */
  private static String icmp6Pass(String on, String source, IpNetwork destination, int type) {
    return "pass in quick "
        + on
        + "inet6 proto icmp6 from "
        + source
        + " to "
        + destination
        + " icmp6-type "
        + type
        + " no state\n";
  }

  /**
   * The plan's allow lines by (protocol, ports), without the targets another group already passes:
   * a target covered by a target of a group with the same protocol and strictly more ports would
   * only give pf a redundant rule or table entry. Covering is strict (more ports only), so two
   * groups never drop each other's targets, and transitive, so dropping along a chain keeps the
   * widest.
   */
  private static Map<PassKey, List<Target>> groupByPorts(EnforcementPlan plan) {
    Map<PassKey, List<Target>> groups = new TreeMap<>();
    for (Allow allow : plan.allows()) {
      groups
          .computeIfAbsent(new PassKey(allow.protocol(), allow.ports()), k -> new ArrayList<>())
          .add(allow.target());
    }
    Map<PassKey, List<Target>> kept = new TreeMap<>();
    groups.forEach(
        (key, targets) -> {
          List<Target> remaining = new ArrayList<>();
          for (Target target : targets) {
            boolean covered =
                groups.entrySet().stream()
                    .anyMatch(
                        wider ->
                            key.isNarrowerThan(wider.getKey())
                                && wider.getValue().stream().anyMatch(t -> t.covers(target)));
            if (!covered) {
              remaining.add(target);
            }
          }
          if (!remaining.isEmpty()) {
            kept.put(key, remaining);
          }
        });
    return kept;
  }

  /**
   * What the pass rules of one group connect to: any; or its networks (inline, or a table of the
   * group) and its names' addresses, in the group's table, or, under {@code dns filter}, each name
   * in a table of its own ({@code nameTables}, shared by the groups), since a grant adds to one
   * name's set.
   */
  private static List<PfTarget> targets(
      PassKey key, List<Target> targets, EnforcementPlan plan, Map<HostName, PfTarget> nameTables)
      throws UnsupportedPolicyException {
    SortedSet<IpNetwork> networks = new TreeSet<>();
    SortedSet<HostName> names = new TreeSet<>();
    boolean any = false;
    for (Target target : targets) {
      any |=
          target.match(
              new Target.Cases<Boolean>() {
                @Override
                public Boolean network(IpNetwork network) {
                  networks.add(network);
                  return false;
                }

                @Override
                public Boolean addressSet(HostName name) {
                  names.add(name);
                  return false;
                }

                @Override
                public Boolean anyAddress() {
                  return true;
                }
              });
    }
    if (any) {
      // 'any' holds every other target of this group: one rule says it all.
      return List.of(new PfTarget("any", null, EnumSet.allOf(Family.class)));
    }
    networks.removeIf(
        network ->
            networks.stream()
                .anyMatch(
                    other ->
                        !other.equals(network)
                            && new Target.Network(other).covers(new Target.Network(network))));
    List<PfTarget> result = new ArrayList<>();
    if (plan.dnsFilter() != null) {
      @Nullable PfTarget literal = literalTarget(key.tableName(), networks);
      if (literal != null) {
        result.add(literal);
      }
      for (HostName name : names) {
        result.add(nameTable(name, plan, nameTables));
      }
      return result;
    }
    if (names.isEmpty()) {
      @Nullable PfTarget literal = literalTarget(key.tableName(), networks);
      return literal == null ? List.of() : List.of(literal);
    }
    SortedSet<IpNetwork> entries = new TreeSet<>(networks);
    for (HostName name : names) {
      entries.addAll(addressesOf(name, plan));
    }
    // Address sets may hold either family at any refresh: the rules must not depend on them.
    PfTable table = new PfTable(key.tableName(), names, new ArrayList<>(entries));
    return List.of(new PfTarget("<" + table.name() + ">", table, EnumSet.allOf(Family.class)));
  }

  /**
   * The table of {@code name} alone ({@link TableName#forHostName}), made once per anchor: a
   * wildcard's starts empty and holds what the filter grants.
   */
  private static PfTarget nameTable(
      HostName name, EnforcementPlan plan, Map<HostName, PfTarget> nameTables)
      throws UnsupportedPolicyException {
    PfTarget made = nameTables.get(name);
    if (made != null) {
      return made;
    }
    TableName tableName = TableName.forHostName(name);
    for (PfTarget other : nameTables.values()) {
      if (other.table != null && other.table.name().equals(tableName)) {
        throw new UnsupportedPolicyException(
            "host names "
                + other.table.hostNames().first()
                + " and "
                + name
                + " would share pf table <"
                + tableName
                + "> (a hash collision)",
            "spell one of them differently (a trailing dot, or a name one label up)");
      }
    }
    PfTable table =
        new PfTable(
            tableName, new TreeSet<>(Set.of(name)), new ArrayList<>(addressesOf(name, plan)));
    PfTarget target = new PfTarget("<" + tableName + ">", table, EnumSet.allOf(Family.class));
    nameTables.put(name, target);
    return target;
  }

  /**
   * What {@code name}'s set holds: its addresses and what the DNS filter granted it (pf tables keep
   * no per-entry end: the enforcer revokes ended grants, and a plan holds only those still on).
   */
  private static SortedSet<IpNetwork> addressesOf(HostName name, EnforcementPlan plan) {
    SortedSet<IpNetwork> entries = new TreeSet<>();
    for (Family family : Family.values()) {
      entries.addAll(hosts(List.copyOf(plan.addresses(name, family))));
      entries.addAll(hosts(List.copyOf(plan.granted(name, family).keySet())));
    }
    return entries;
  }

  /**
   * {@code rdr FAMILY proto P from SOURCE to any port = 53 -> FILTER port 53}: the source's DNS, to
   * whatever address, goes to the filter. pf translates before it filters, and the filter rules see
   * the translated destination (pf.conf(5)); without {@code pass} the packet still meets them, so
   * the redirected query passes by the rule to the filter and nothing else.
   */
  private static String redirect(InetAddress source, Protocol protocol, InetAddress filter) {
    return "rdr "
        + keyword(Family.of(source))
        + " proto "
        + protocol.keyword()
        + " from "
        + IpAddresses.format(source)
        + " to any port = "
        + PortRange.DNS_PORT
        + " -> "
        + IpAddresses.format(filter)
        + " port "
        + PortRange.DNS_PORT
        + "\n";
  }

  /** One entry inline, several in a table (so pf's optimiser has no rules to fold), none: null. */
  private static @Nullable PfTarget literalTarget(
      TableName tableName, SortedSet<IpNetwork> entries) {
    if (entries.isEmpty()) {
      return null;
    }
    Set<Family> families = EnumSet.noneOf(Family.class);
    entries.forEach(e -> families.add(Family.of(e)));
    if (entries.size() == 1) {
      return new PfTarget(entries.first().toString(), null, families);
    }
    PfTable table = new PfTable(tableName, new TreeSet<>(), new ArrayList<>(entries));
    return new PfTarget("<" + tableName + ">", table, families);
  }

  private static SortedSet<IpNetwork> hosts(List<InetAddress> addresses) {
    SortedSet<IpNetwork> hosts = new TreeSet<>();
    addresses.forEach(a -> hosts.add(IpNetwork.host(a)));
    return hosts;
  }

  private static String portClause(PortRange ports) {
    return ports.isSinglePort()
        ? "port = " + ports.first()
        : "port " + ports.first() + ":" + ports.last();
  }

  private static String keyword(Family family) {
    return family == Family.IPV6 ? "inet6" : "inet";
  }

  private static List<InetAddress> sortedSources(EnforcementPlan plan) {
    List<InetAddress> sorted = new ArrayList<>(plan.sources());
    sorted.sort(Comparator.comparing(IpNetwork::host));
    return sorted;
  }

  /** What one pass rule connects to: its text in the rule, its table if any, its families. */
  private static final class PfTarget {
    final String operand;
    final @Nullable PfTable table;
    final Set<Family> families;

    PfTarget(String operand, @Nullable PfTable table, Set<Family> families) {
      this.operand = operand;
      this.table = table;
      this.families = families;
    }
  }

  private record PassKey(Protocol protocol, Ports ports) implements Comparable<PassKey> {
    private static final Comparator<PassKey> ORDER =
        Comparator.comparing(PassKey::protocol).thenComparing(PassKey::ports);

    @Override
    public int compareTo(PassKey other) {
      return ORDER.compare(this, other);
    }

    /** Same protocol, and {@code other}'s ports strictly include these. */
    boolean isNarrowerThan(PassKey other) {
      return protocol == other.protocol
          && !ports.equals(other.ports)
          && other.ports.includes(ports);
    }

    /**
     * {@code tcp_443} or {@code udp_5000_5100}, from the span of the ports: at most 15 characters.
     * Distinct port sets have distinct spans (see {@link Ports}).
     */
    TableName tableName() {
      PortRange span = ports.span();
      return new TableName(
          protocol.keyword() + "_" + span.first() + (span.isSinglePort() ? "" : "_" + span.last()));
    }
  }
}
