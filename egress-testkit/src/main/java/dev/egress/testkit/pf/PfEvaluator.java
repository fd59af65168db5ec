package dev.egress.testkit.pf;

import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Decides what pf does with a packet, given a parent anchor's ruleset and its child anchors, for
 * the subset of pf that egress-pf renders: {@code table <t> [persist] [const] [{ ... }]}, {@code
 * rdr-anchor "*"} and {@code anchor "*"} (parent only), translation rules {@code rdr [inet|inet6]
 * [proto tcp|udp] from HOST to HOST [port OP] -> ADDRESS [port N]} (children only, before their
 * filter rules, see {@link #translate}), and rules {@code pass|block [return|drop] [in|out] [log]
 * [quick] [on [!]IF] [inet|inet6] [proto P] (all | from HOST to HOST [port OP]) [icmp6-type T |
 * icmp6-type { T, ... }] [flags S/SA] [keep state | no state]} where HOST is {@code any}, an
 * address, a network, a table or an interface's addresses ({@code (bridge100)}, see {@link
 * #withInterfaceAddresses}), each optionally negated with {@code !}, or a list of addresses and
 * networks of one family in braces; OP is {@code = != < <= > >=} with a port, or {@code a:b},
 * {@code a><b}, {@code a<>b}; T is an ICMPv6 type number.
 *
 * <p>pf's semantics, as pf.conf(5) states them: rules are evaluated in order and the last matching
 * rule decides, unless a matching rule is {@code quick}, which decides at once and ends evaluation
 * everywhere (anchors and the main ruleset). {@code anchor "*"} evaluates each child anchor's rules
 * in the byte order of the children's names (pf keeps anchors in a tree ordered by {@code strcmp}
 * of their paths). With no matching rule pf passes the packet. A rule naming an address family (or
 * an address, which implies one) never matches the other family.
 *
 * <p>State, as far as the rendered rules need it ({@link #evaluateReply}): a {@code pass} rule
 * keeps state unless it says {@code no state} (pf's default since OpenBSD 4.1, which Apple's pf
 * follows; {@code flags S/SA} only narrows which TCP packet may create it, and the first packet of
 * a connection is the SYN); a packet that matches no rule passes without creating state. An answer
 * matching a state passes without any rule being evaluated.
 *
 * <p>The evaluator models the parent as the only ruleset: whatever the main ruleset does around it
 * is out of scope. Instances are immutable and thread-safe; the {@code with...} methods return
 * changed copies. Anything outside the subset is rejected with the anchor and line, so that a
 * renderer change the evaluator does not understand fails a test instead of passing it.
 */
public final class PfEvaluator {
  private final PfRuleset parent;
  private final SortedMap<String, PfRuleset> children;
  private final Map<String, List<InetAddress>> interfaceAddresses;

  private PfEvaluator(
      PfRuleset parent,
      SortedMap<String, PfRuleset> children,
      Map<String, List<InetAddress>> interfaceAddresses) {
    this.parent = parent;
    this.children = children;
    this.interfaceAddresses = interfaceAddresses;
  }

  private PfEvaluator(PfRuleset parent, SortedMap<String, PfRuleset> children) {
    this(parent, children, Map.of());
  }

  /**
   * A copy where interface {@code name} holds {@code addresses} (the host's own, as {@code
   * ifconfig} lists them): what a rule's {@code (name)} matches. An interface without addresses
   * given has none, so {@code (name)} matches nothing.
   */
  public PfEvaluator withInterfaceAddresses(String name, List<InetAddress> addresses) {
    Map<String, List<InetAddress>> copy = new TreeMap<>(interfaceAddresses);
    copy.put(Objects.requireNonNull(name, "name"), List.copyOf(addresses));
    return new PfEvaluator(parent, children, copy);
  }

  /**
   * An evaluator over {@code parentText} (the parent anchor's ruleset) and {@code children} (child
   * anchor name to ruleset text, as loaded with {@code pfctl -a PARENT/NAME -f -}).
   *
   * @throws IllegalArgumentException if a text is outside the subset, or a child name is not a
   *     single printable-ASCII anchor component
   */
  public static PfEvaluator of(String parentText, Map<String, String> children) {
    PfRuleset parent = PfRuleset.parse("parent", parentText, true);
    SortedMap<String, PfRuleset> parsed = new TreeMap<>();
    children.forEach((name, text) -> parsed.put(checkChildName(name), parseChild(name, text)));
    return new PfEvaluator(parent, parsed);
  }

  /** A copy where child {@code name} holds {@code text} (loading or replacing it). */
  public PfEvaluator withChild(String name, String text) {
    SortedMap<String, PfRuleset> copy = new TreeMap<>(children);
    copy.put(checkChildName(name), parseChild(name, text));
    return new PfEvaluator(parent, copy, interfaceAddresses);
  }

  /** A copy without child {@code name} (as after {@code pfctl -a PARENT/NAME -F all}). */
  public PfEvaluator withoutChild(String name) {
    SortedMap<String, PfRuleset> copy = new TreeMap<>(children);
    copy.remove(name);
    return new PfEvaluator(parent, copy, interfaceAddresses);
  }

  /**
   * A copy where table {@code table} of child {@code child} holds what {@code contents} lists, as
   * after {@code pfctl -a PARENT/CHILD -t TABLE -T replace -f -} with {@code contents} on standard
   * input (one address or network per line).
   *
   * @throws IllegalArgumentException if the child or the table does not exist, or an entry is not
   *     an address or network
   */
  public PfEvaluator withTableReplaced(String child, String table, String contents) {
    PfRuleset ruleset = children.get(child);
    if (ruleset == null) {
      throw new IllegalArgumentException(
          "no child anchor " + child + "; there are " + children.keySet());
    }
    if (!ruleset.tables.containsKey(table)) {
      throw new IllegalArgumentException(
          "child anchor "
              + child
              + " has no table <"
              + table
              + ">; it has "
              + ruleset.tables.keySet());
    }
    SortedMap<String, PfRuleset> copy = new TreeMap<>(children);
    copy.put(
        child,
        ruleset.withTable(
            table, PfRuleset.parseTableContents(child + " <" + table + ">", contents)));
    return new PfEvaluator(parent, copy, interfaceAddresses);
  }

  /** The child anchor names, in the order {@code anchor "*"} evaluates them. */
  public List<String> childNames() {
    return List.copyOf(children.keySet());
  }

  /** What pf does with {@code packet}. */
  public PfVerdict verdict(PfPacket packet) {
    return evaluate(packet).verdict();
  }

  /** What pf does with {@code packet}, and which rule decided it. */
  public PfDecision evaluate(PfPacket packet) {
    return decide(translate(packet)).decision();
  }

  /**
   * {@code packet} as the filter rules see it: translation comes first (pf.conf(5): "Since
   * translation occurs before filtering the filter engine will see packets as they look after any
   * addresses and ports have been translated"). An incoming packet meets the parent's {@code
   * rdr-anchor "*"}, which evaluates each child anchor's {@code rdr} rules in the byte order of the
   * children's names; the first that matches gives the packet its new destination (translation
   * rules are first-match). A parent without {@code rdr-anchor "*"} redirects nothing, whatever its
   * children hold. Outgoing packets are never redirected.
   */
  public PfPacket translate(PfPacket packet) {
    Objects.requireNonNull(packet, "packet");
    if (packet.direction() != PfPacket.Direction.IN) {
      return packet;
    }
    for (PfRuleset.Statement statement : parent.statements) {
      if (statement instanceof PfRuleset.RdrAnchorAll) {
        for (PfRuleset child : children.values()) {
          for (PfRuleset.Statement childStatement : child.statements) {
            if (childStatement instanceof PfRuleset.Redirect redirect
                && matches(redirect, child, packet)) {
              return new PfPacket(
                  packet.direction(),
                  packet.interfaceName(),
                  packet.protocol(),
                  packet.source(),
                  redirect.redirectTo(),
                  redirect.redirectPort() == null
                      ? packet.destinationPort()
                      : redirect.redirectPort(),
                  packet.icmp6Type());
            }
          }
        }
      }
    }
    return packet;
  }

  private boolean matches(PfRuleset.Redirect redirect, PfRuleset ruleset, PfPacket packet) {
    if (redirect.ipv6() != null && redirect.ipv6() != packet.isIpv6()) {
      return false;
    }
    if (redirect.protocol() != null && redirect.protocol() != packet.protocol()) {
      return false;
    }
    if (!hostMatches(redirect.from(), ruleset, packet.source())
        || !hostMatches(redirect.to(), ruleset, packet.destination())) {
      return false;
    }
    PfRuleset.PortMatch port = redirect.port();
    return port == null || port.matches(packet.destinationPort());
  }

  /**
   * What pf does with the answer to {@code first}, the first packet of a connection, from {@code
   * first}'s destination back to {@code initiatorPort}: when {@code first} passed by a rule that
   * keeps state, the answer matches that state and passes (the decision names that rule, prefixed
   * {@code "state of: "}); otherwise it is evaluated against the rules like any packet ({@link
   * PfPacket#reply}).
   *
   * @throws IllegalArgumentException if {@code first} is neither tcp nor udp
   */
  public PfDecision evaluateReply(PfPacket first, int initiatorPort) {
    PfPacket seen = translate(first);
    PfPacket reply = seen.reply(initiatorPort);
    Decided opened = decide(seen);
    PfRuleset.Rule rule = opened.rule();
    if (rule != null && rule.pass() && rule.keepState()) {
      return new PfDecision(PfVerdict.PASS, opened.decision().anchor(), "state of: " + rule.text());
    }
    return decide(reply).decision();
  }

  /** A decision and the rule that made it (null: none matched). */
  private record Decided(PfDecision decision, PfRuleset.@Nullable Rule rule) {}

  private Decided decide(PfPacket packet) {
    Objects.requireNonNull(packet, "packet");
    Decided last = new Decided(new PfDecision(PfVerdict.PASS, "", null), null);
    for (PfRuleset.Statement statement : parent.statements) {
      if (statement instanceof PfRuleset.Rule rule) {
        if (matches(rule, parent, packet)) {
          last = decided(rule, "");
          if (rule.quick()) {
            return last;
          }
        }
      } else if (statement instanceof PfRuleset.AnchorAll) {
        for (Map.Entry<String, PfRuleset> child : children.entrySet()) {
          for (PfRuleset.Statement childStatement : child.getValue().statements) {
            if (childStatement instanceof PfRuleset.Rule rule
                && matches(rule, child.getValue(), packet)) {
              last = decided(rule, child.getKey());
              if (rule.quick()) {
                return last;
              }
            }
          }
        }
      }
    }
    return last;
  }

  private static Decided decided(PfRuleset.Rule rule, String anchor) {
    return new Decided(
        new PfDecision(rule.pass() ? PfVerdict.PASS : PfVerdict.BLOCK, anchor, rule.text()), rule);
  }

  private boolean matches(PfRuleset.Rule rule, PfRuleset ruleset, PfPacket packet) {
    if (rule.direction() != null && rule.direction() != packet.direction()) {
      return false;
    }
    String interfaceName = rule.interfaceName();
    if (interfaceName != null
        && interfaceName.equals(packet.interfaceName()) == rule.interfaceNegated()) {
      return false;
    }
    if (rule.ipv6() != null && rule.ipv6() != packet.isIpv6()) {
      return false;
    }
    if (rule.protocol() != null && rule.protocol() != packet.protocol()) {
      return false;
    }
    if (!hostMatches(rule.from(), ruleset, packet.source())
        || !hostMatches(rule.to(), ruleset, packet.destination())) {
      return false;
    }
    if (!rule.icmp6Types().isEmpty() && !rule.icmp6Types().contains(packet.icmp6Type())) {
      return false;
    }
    PfRuleset.PortMatch port = rule.port();
    return port == null || port.matches(packet.destinationPort());
  }

  private boolean hostMatches(PfRuleset.HostMatch host, PfRuleset ruleset, InetAddress address) {
    String table = host.table();
    String interfaceName = host.interfaceName();
    if (!host.networks().isEmpty()) {
      if (host.networks().get(0).isIpv6() != (address.getAddress().length == 16)) {
        return false; // the address pins the rule to its family, negated or not
      }
      boolean listed = host.networks().stream().anyMatch(network -> network.contains(address));
      return listed != host.negated();
    }
    if (interfaceName != null) {
      boolean own = interfaceAddresses.getOrDefault(interfaceName, List.of()).contains(address);
      return own != host.negated();
    }
    if (table != null) {
      boolean inTable = false;
      for (IpNetwork entry : tableEntries(ruleset, table)) {
        inTable |= entry.contains(address);
      }
      return inTable != host.negated();
    }
    return true;
  }

  private static List<IpNetwork> tableEntries(PfRuleset ruleset, String table) {
    @Nullable List<IpNetwork> entries = ruleset.tables.get(table);
    if (entries == null) {
      throw new IllegalStateException("table <" + table + "> was checked at parse time");
    }
    return entries;
  }

  private static PfRuleset parseChild(String name, String text) {
    return PfRuleset.parse("anchor " + name, Objects.requireNonNull(text, "text"), false);
  }

  private static String checkChildName(String name) {
    if (name.isEmpty()
        || name.length() > 63
        || !name.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '/')) {
      throw new IllegalArgumentException(
          "'" + name + "' is not a child anchor name: 1-63 printable ASCII characters without '/'");
    }
    return name;
  }
}
