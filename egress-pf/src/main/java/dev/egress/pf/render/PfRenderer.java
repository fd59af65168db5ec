package dev.egress.pf.render;

import dev.egress.core.ContainerRules;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.pfctl.TableName;
import dev.egress.policy.Allowance;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
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
 * Renders pf rulesets: the parent anchor, and one container's child anchor with its tables.
 *
 * <p>A child ruleset defines its tables ({@code table <NAME> persist { ... }}), then holds, for
 * each of the container's source addresses (IPv4 first, then IPv6, each in address order):
 *
 * <ol>
 *   <li>DNS to the policy's resolvers: TCP and UDP port 53, to the one resolver of the family or to
 *       table {@code <dns>};
 *   <li>a block of port 53 to anything else, for each protocol where a pass rule's port range spans
 *       53 (so that no allow rule opens DNS);
 *   <li>one pass rule per (protocol, port range) of the policy, to {@code any} (for {@code
 *       unsafe-any-address}), to table {@code <PROTO_PORTS>} (host names, which may resolve to
 *       either family, or several literal destinations), or inline to the one literal network or
 *       gateway address. Destinations that a rule with the same protocol and a wider range already
 *       passes get no rule or entry of their own;
 *   <li>{@code block return} of everything else from that address, with {@code log} when the policy
 *       logs denials.
 * </ol>
 *
 * <p>Every rule is {@code in} and {@code quick} and names its address family; a family the
 * container has no address of gets no rule. Rules depend on the policy and the container only,
 * never on what names resolve to: a refresh only replaces tables. What the rules let through is
 * exactly what {@link EgressPolicy#permits} allows; a gateway destination or resolver contributes
 * nothing when the container's gateway is unknown.
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

  private PfRenderer() {}

  /**
   * Renders the anchor of one container.
   *
   * @throws UnsupportedPolicyException if the policy names a wildcard host (pf cannot filter DNS
   *     answers) or needs more than {@link #MAX_TABLES_PER_CONTAINER} tables
   * @throws IllegalArgumentException if {@code rules.name()} is not a safe anchor name
   */
  public static ChildRuleset renderChild(ContainerRules rules) throws UnsupportedPolicyException {
    AnchorName anchorName = AnchorName.of(rules.name());
    EgressPolicy policy = rules.policy();
    if (policy.requiresDnsFiltering()) {
      throw new UnsupportedPolicyException(
          "the policy names a wildcard host, which pf cannot enforce: it filters addresses, not"
              + " DNS answers",
          "list the host names themselves (api.example.com), or use an enforcer that filters DNS");
    }
    ContainerEndpoint container = rules.container();
    @Nullable InetAddress gateway = container.gateway();

    List<Target> tables = new ArrayList<>();
    @Nullable Target dns = dnsTarget(policy.dns(), gateway);
    if (dns != null && dns.table != null) {
      tables.add(dns);
    }
    Map<PassKey, Target> passes = new TreeMap<>();
    groupByPorts(policy, gateway)
        .forEach(
            (key, destinations) -> {
              Target target = target(key, destinations, gateway, rules.resolutions());
              if (target != null) {
                passes.put(key, target);
                if (target.table != null) {
                  tables.add(target);
                }
              }
            });

    Set<Family> containerFamilies = EnumSet.noneOf(Family.class);
    container.addresses().forEach(a -> containerFamilies.add(Family.of(a)));
    List<PfTable> usedTables = new ArrayList<>();
    for (Target target : tables) {
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
    String block = policy.logDenied() ? "block return in log quick " : "block return in quick ";
    for (InetAddress source : sortedAddresses(container)) {
      Family family = Family.of(source);
      String af = family.keyword + " ";
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
      for (Protocol protocol : Protocol.values()) {
        boolean spansDns =
            passes.entrySet().stream()
                .anyMatch(
                    e ->
                        e.getKey().protocol == protocol
                            && e.getKey().ports.contains(PortRange.DNS_PORT)
                            && e.getValue().families.contains(family));
        if (spansDns) {
          out.append(block)
              .append(af)
              .append("proto ")
              .append(protocol.keyword())
              .append(src)
              .append("any port = ")
              .append(PortRange.DNS_PORT)
              .append('\n');
        }
      }
      passes.forEach(
          (key, target) -> {
            if (target.families.contains(family)) {
              out.append("pass in quick ")
                  .append(af)
                  .append("proto ")
                  .append(key.protocol.keyword())
                  .append(src)
                  .append(target.operand)
                  .append(' ')
                  .append(portClause(key.ports))
                  .append('\n');
            }
          });
      out.append(block).append(family.keyword).append(src).append("any\n");
    }
    return new ChildRuleset(anchorName, out.toString(), usedTables);
  }

  /**
   * The contents of one table of the container's anchor, for {@code pfctl -a PARENT/NAME -t TABLE
   * -T replace -f -}: one address or network per line. Use {@link ChildRuleset#tablesHolding} to
   * find the tables a change of resolutions touches.
   *
   * @throws UnsupportedPolicyException as {@link #renderChild} does
   * @throws IllegalArgumentException if the anchor has no such table
   */
  public static String renderTable(ContainerRules rules, TableName tableName)
      throws UnsupportedPolicyException {
    return renderChild(rules).table(tableName).contents();
  }

  /**
   * Renders the parent anchor: {@code anchor "*"}, which evaluates every container's anchor, then
   * the guard when there is one. The guard comes last so that it sees only what no container anchor
   * passed; its rules are {@code quick} too, so that rules evaluated after the parent (such as
   * Apple's non-quick internet-sharing passes) cannot undo it.
   *
   * <p>Guard rules: {@code block return in quick on ! lo0 FAMILY from SUBNET to any} per subnet
   * (lo0 is exempt: the host's own traffic to its address on the network, such as a proxy on the
   * gateway, loops back with that source address), and {@code block return in quick on BRIDGE all}
   * when the bridge is known, which also catches forged source addresses.
   */
  public static String renderParent(ParentAnchor parent) {
    StringBuilder out = new StringBuilder("anchor \"*\"\n");
    ManagedNetwork guard = parent.guard();
    if (guard != null) {
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
      if (guard.bridgeInterface() != null) {
        out.append(block).append(guard.bridgeInterface()).append(" all\n");
      }
    }
    return out.toString();
  }

  private static @Nullable Target dnsTarget(DnsRule rule, @Nullable InetAddress gateway) {
    SortedSet<IpNetwork> resolvers = new TreeSet<>();
    if (rule instanceof DnsRule.ViaGateway && gateway != null) {
      resolvers.add(IpNetwork.host(gateway));
    } else if (rule instanceof DnsRule.Servers servers) {
      servers.addresses().forEach(a -> resolvers.add(IpNetwork.host(a)));
    }
    return literalTarget(DNS_TABLE, resolvers);
  }

  /**
   * The policy's destinations by (protocol, port range), without those another group already
   * passes: a destination covered by a destination of a group with the same protocol and a wider
   * port range would only give pf a redundant rule or table entry. Covering is strict (wider ranges
   * only), so two groups never drop each other's destinations, and transitive, so dropping along a
   * chain keeps the widest.
   */
  private static Map<PassKey, List<Destination>> groupByPorts(
      EgressPolicy policy, @Nullable InetAddress gateway) {
    Map<PassKey, List<Destination>> groups = new TreeMap<>();
    for (Allowance allowance : policy.allowances()) {
      groups
          .computeIfAbsent(
              new PassKey(allowance.protocol(), allowance.ports()), k -> new ArrayList<>())
          .add(allowance.destination());
    }
    Map<PassKey, List<Destination>> kept = new TreeMap<>();
    groups.forEach(
        (key, destinations) -> {
          List<Destination> remaining = new ArrayList<>();
          for (Destination destination : destinations) {
            boolean covered =
                groups.entrySet().stream()
                    .anyMatch(
                        wider ->
                            key.isNarrowerThan(wider.getKey())
                                && wider.getValue().stream()
                                    .anyMatch(d -> covers(d, destination, gateway)));
            if (!covered) {
              remaining.add(destination);
            }
          }
          if (!remaining.isEmpty()) {
            kept.put(key, remaining);
          }
        });
    return kept;
  }

  /**
   * Whether {@code wide} holds every address {@code narrow} may ever hold, whatever names resolve
   * to.
   */
  private static boolean covers(
      Destination wide, Destination narrow, @Nullable InetAddress gateway) {
    if (wide instanceof Destination.UnsafeAnyAddress || wide.equals(narrow)) {
      return true;
    }
    @Nullable IpNetwork narrowNetwork = literal(narrow, gateway);
    @Nullable IpNetwork wideNetwork = literal(wide, gateway);
    return narrowNetwork != null
        && wideNetwork != null
        && narrowNetwork.isIpv6() == wideNetwork.isIpv6()
        && wideNetwork.prefixLength() <= narrowNetwork.prefixLength()
        && wideNetwork.contains(narrowNetwork.address());
  }

  private static @Nullable IpNetwork literal(
      Destination destination, @Nullable InetAddress gateway) {
    if (destination instanceof Destination.Network network) {
      return network.network();
    } else if (destination instanceof Destination.Gateway && gateway != null) {
      return IpNetwork.host(gateway);
    }
    return null;
  }

  private static @Nullable Target target(
      PassKey key,
      List<Destination> destinations,
      @Nullable InetAddress gateway,
      Resolutions resolutions) {
    SortedSet<IpNetwork> entries = new TreeSet<>();
    SortedSet<HostName> names = new TreeSet<>();
    for (Destination destination : destinations) {
      if (destination instanceof Destination.UnsafeAnyAddress) {
        // 'any' holds every other destination of this group: one rule says it all.
        return new Target("any", null, EnumSet.allOf(Family.class));
      } else if (destination instanceof Destination.Network network) {
        entries.add(network.network());
      } else if (destination instanceof Destination.Gateway && gateway != null) {
        entries.add(IpNetwork.host(gateway));
      } else if (destination instanceof Destination.Host host) {
        names.add(host.name());
      }
    }
    entries.removeIf(
        entry ->
            entries.stream()
                .anyMatch(
                    other ->
                        !other.equals(entry)
                            && covers(
                                new Destination.Network(other),
                                new Destination.Network(entry),
                                null)));
    if (names.isEmpty()) {
      return literalTarget(key.tableName(), entries);
    }
    for (HostName name : names) {
      resolutions.addressesOf(name).forEach(a -> entries.add(IpNetwork.host(a)));
    }
    // Names may resolve to either family at any refresh: the rules must not depend on answers.
    PfTable table = new PfTable(key.tableName(), names, new ArrayList<>(entries));
    return new Target("<" + table.name() + ">", table, EnumSet.allOf(Family.class));
  }

  /** One entry inline, several in a table (so pf's optimiser has no rules to fold), none: null. */
  private static @Nullable Target literalTarget(TableName tableName, SortedSet<IpNetwork> entries) {
    if (entries.isEmpty()) {
      return null;
    }
    Set<Family> families = EnumSet.noneOf(Family.class);
    entries.forEach(e -> families.add(e.isIpv6() ? Family.INET6 : Family.INET));
    if (entries.size() == 1) {
      return new Target(entries.first().toString(), null, families);
    }
    PfTable table = new PfTable(tableName, new TreeSet<>(), new ArrayList<>(entries));
    return new Target("<" + tableName + ">", table, families);
  }

  private static String portClause(PortRange ports) {
    return ports.isSinglePort()
        ? "port = " + ports.first()
        : "port " + ports.first() + ":" + ports.last();
  }

  private static List<InetAddress> sortedAddresses(ContainerEndpoint container) {
    List<InetAddress> sorted = new ArrayList<>(container.addresses());
    sorted.sort(Comparator.comparing(IpNetwork::host));
    return sorted;
  }

  private enum Family {
    INET("inet"),
    INET6("inet6");

    final String keyword;

    Family(String keyword) {
      this.keyword = keyword;
    }

    static Family of(InetAddress address) {
      return IpAddresses.isIpv6(address) ? INET6 : INET;
    }
  }

  /** What one pass rule connects to: its text in the rule, its table if any, its families. */
  private static final class Target {
    final String operand;
    final @Nullable PfTable table;
    final Set<Family> families;

    Target(String operand, @Nullable PfTable table, Set<Family> families) {
      this.operand = operand;
      this.table = table;
      this.families = families;
    }
  }

  private record PassKey(Protocol protocol, PortRange ports) implements Comparable<PassKey> {
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
          && other.ports.first() <= ports.first()
          && ports.last() <= other.ports.last();
    }

    /** {@code tcp_443} or {@code udp_5000_5100}: at most 15 characters. */
    TableName tableName() {
      return new TableName(
          protocol.keyword()
              + "_"
              + ports.first()
              + (ports.isSinglePort() ? "" : "_" + ports.last()));
    }
  }
}
