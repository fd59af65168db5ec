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
 * anchor "*"} (parent only), and rules {@code pass|block [return|drop] [in|out] [log] [quick] [on
 * [!]IF] [inet|inet6] [proto P] (all | from HOST to HOST [port OP])} where HOST is {@code any}, an
 * address, a network or a table, each optionally negated with {@code !}, and OP is {@code = != < <=
 * > >=} with a port, or {@code a:b}, {@code a><b}, {@code a<>b}.
 *
 * <p>pf's semantics, as pf.conf(5) states them: rules are evaluated in order and the last matching
 * rule decides, unless a matching rule is {@code quick}, which decides at once and ends evaluation
 * everywhere (anchors and the main ruleset). {@code anchor "*"} evaluates each child anchor's rules
 * in the byte order of the children's names (pf keeps anchors in a tree ordered by {@code strcmp}
 * of their paths). With no matching rule pf passes the packet. A rule naming an address family (or
 * an address, which implies one) never matches the other family.
 *
 * <p>The evaluator models the parent as the only ruleset: whatever the main ruleset does around it
 * is out of scope. Instances are immutable and thread-safe; the {@code with...} methods return
 * changed copies. Anything outside the subset is rejected with the anchor and line, so that a
 * renderer change the evaluator does not understand fails a test instead of passing it.
 */
public final class PfEvaluator {
  private final PfRuleset parent;
  private final SortedMap<String, PfRuleset> children;

  private PfEvaluator(PfRuleset parent, SortedMap<String, PfRuleset> children) {
    this.parent = parent;
    this.children = children;
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
    return new PfEvaluator(parent, copy);
  }

  /** A copy without child {@code name} (as after {@code pfctl -a PARENT/NAME -F all}). */
  public PfEvaluator withoutChild(String name) {
    SortedMap<String, PfRuleset> copy = new TreeMap<>(children);
    copy.remove(name);
    return new PfEvaluator(parent, copy);
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
    return new PfEvaluator(parent, copy);
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
    Objects.requireNonNull(packet, "packet");
    PfDecision last = new PfDecision(PfVerdict.PASS, "", null);
    for (PfRuleset.Statement statement : parent.statements) {
      if (statement instanceof PfRuleset.Rule rule) {
        if (matches(rule, parent, packet)) {
          last = decision(rule, "");
          if (rule.quick()) {
            return last;
          }
        }
      } else {
        for (Map.Entry<String, PfRuleset> child : children.entrySet()) {
          for (PfRuleset.Statement childStatement : child.getValue().statements) {
            PfRuleset.Rule rule = (PfRuleset.Rule) childStatement;
            if (matches(rule, child.getValue(), packet)) {
              last = decision(rule, child.getKey());
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

  private static PfDecision decision(PfRuleset.Rule rule, String anchor) {
    return new PfDecision(rule.pass() ? PfVerdict.PASS : PfVerdict.BLOCK, anchor, rule.text());
  }

  private static boolean matches(PfRuleset.Rule rule, PfRuleset ruleset, PfPacket packet) {
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
    PfRuleset.PortMatch port = rule.port();
    return port == null || port.matches(packet.destinationPort());
  }

  private static boolean hostMatches(
      PfRuleset.HostMatch host, PfRuleset ruleset, InetAddress address) {
    IpNetwork network = host.network();
    String table = host.table();
    if (network != null) {
      if (network.isIpv6() != (address.getAddress().length == 16)) {
        return false; // the address pins the rule to its family, negated or not
      }
      return network.contains(address) != host.negated();
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
