package dev.egress.testkit.pf;

import dev.egress.policy.IpNetwork;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One parsed anchor: statements in order and tables by name. Parsing is strict: anything outside
 * the subset egress-pf renders is an error naming the line and the token, never a silent skip.
 *
 * <p>Why one class of this size: it is a strict recursive-descent parser of pf's subset, one short
 * method per production, and the productions call each other.
 */
final class PfRuleset {
  final List<Statement> statements;
  final Map<String, List<IpNetwork>> tables;

  private PfRuleset(List<Statement> statements, Map<String, List<IpNetwork>> tables) {
    this.statements = List.copyOf(statements);
    this.tables = Map.copyOf(tables);
  }

  /** A copy where table {@code name} holds {@code entries}. */
  PfRuleset withTable(String name, List<IpNetwork> entries) {
    Map<String, List<IpNetwork>> copy = new LinkedHashMap<>(tables);
    copy.put(name, List.copyOf(entries));
    return new PfRuleset(statements, copy);
  }

  sealed interface Statement permits Rule, AnchorAll, RdrAnchorAll, Redirect {}

  /** {@code anchor "*"}: the rules of every child anchor, in the byte order of their names. */
  record AnchorAll() implements Statement {}

  /**
   * {@code rdr-anchor "*"}: the translation rules of every child anchor, in the byte order of their
   * names.
   */
  record RdrAnchorAll() implements Statement {}

  /**
   * {@code rdr [inet|inet6] [proto P] from HOST to HOST [port OP] -> ADDRESS [port N]}: an incoming
   * packet that matches gets {@code to} as its destination (and {@code toPort}, when given, as its
   * destination port) before the filter rules see it.
   */
  record Redirect(
      int line,
      String text,
      @Nullable Boolean ipv6,
      PfPacket.@Nullable IpProtocol protocol,
      HostMatch from,
      HostMatch to,
      @Nullable PortMatch port,
      InetAddress redirectTo,
      @Nullable Integer redirectPort)
      implements Statement {}

  enum PortOp {
    EQ,
    NE,
    LT,
    LE,
    GT,
    GE,
    RANGE,
    INSIDE,
    OUTSIDE
  }

  record PortMatch(PortOp op, int low, int high) {
    boolean matches(int port) {
      return switch (op) {
        case EQ -> port == low;
        case NE -> port != low;
        case LT -> port < low;
        case LE -> port <= low;
        case GT -> port > low;
        case GE -> port >= low;
        case RANGE -> port >= low && port <= high;
        case INSIDE -> port > low && port < high;
        case OUTSIDE -> port < low || port > high;
      };
    }
  }

  /**
   * {@code any}, an address or network, a list of them in braces, a table, or an interface's
   * addresses ({@code (bridge100)}); possibly negated (not a list).
   */
  record HostMatch(
      boolean negated,
      List<IpNetwork> networks,
      @Nullable String table,
      @Nullable String interfaceName) {
    static final HostMatch ANY = new HostMatch(false, List.of(), null, null);

    HostMatch {
      networks = List.copyOf(networks);
    }

    /** The family this host pins the rule to (pfctl infers a rule's af from its addresses). */
    @Nullable Boolean ipv6() {
      return networks.isEmpty() ? null : networks.get(0).isIpv6();
    }
  }

  record Rule(
      int line,
      String text,
      boolean pass,
      PfPacket.@Nullable Direction direction,
      boolean quick,
      @Nullable String interfaceName,
      boolean interfaceNegated,
      @Nullable Boolean ipv6,
      PfPacket.@Nullable IpProtocol protocol,
      HostMatch from,
      HostMatch to,
      @Nullable PortMatch port,
      Set<Integer> icmp6Types,
      boolean keepState)
      implements Statement {
    Rule {
      icmp6Types = Set.copyOf(icmp6Types);
    }
  }

  /**
   * Parses an anchor's text.
   *
   * @param allowAnchorAll whether {@code anchor "*"} may appear (the parent only)
   * @throws IllegalArgumentException naming the line and what is wrong
   */
  static PfRuleset parse(String where, String text, boolean allowAnchorAll) {
    List<Statement> statements = new ArrayList<>();
    Map<String, List<IpNetwork>> tables = new LinkedHashMap<>();
    Set<String> referenced = new HashSet<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      int hash = line.indexOf('#');
      String code = (hash >= 0 ? line.substring(0, hash) : line).strip();
      if (code.isEmpty()) {
        continue;
      }
      Cursor cursor = new Cursor(where, i + 1, code);
      String first = cursor.next();
      if (first.equals("table")) {
        String name = cursor.tableName(cursor.next());
        if (tables.containsKey(name)) {
          throw cursor.error("table <" + name + "> is defined twice");
        }
        tables.put(name, parseTableDefinition(cursor));
      } else if (first.equals("anchor") || first.equals("rdr-anchor")) {
        String name = cursor.next();
        if (!allowAnchorAll || !name.equals("\"*\"") || cursor.hasNext()) {
          throw cursor.error(
              "only the parent may hold anchors, and only as 'anchor \"*\"' or 'rdr-anchor \"*\"'"
                  + " on a line of its own");
        }
        if (first.equals("rdr-anchor")) {
          requireTranslationOrder(cursor, statements);
          statements.add(new RdrAnchorAll());
        } else {
          statements.add(new AnchorAll());
        }
      } else if (first.equals("rdr")) {
        if (allowAnchorAll) {
          throw cursor.error("rdr rules are evaluated in child anchors only");
        }
        requireTranslationOrder(cursor, statements);
        Redirect redirect = parseRedirect(cursor);
        if (redirect.to().table() != null) {
          referenced.add(redirect.to().table());
        }
        statements.add(redirect);
      } else if (first.equals("pass") || first.equals("block")) {
        Rule rule = parseRule(cursor, first.equals("pass"));
        if (rule.from().table() != null) {
          referenced.add(rule.from.table());
        }
        if (rule.to.table() != null) {
          referenced.add(rule.to.table());
        }
        statements.add(rule);
      } else {
        throw cursor.error("unexpected '" + first + "': expected table, anchor, pass or block");
      }
    }
    for (String name : referenced) {
      if (!tables.containsKey(name)) {
        throw new IllegalArgumentException(
            where + ": a rule uses table <" + name + ">, which the ruleset does not define");
      }
    }
    return new PfRuleset(statements, tables);
  }

  /**
   * pfctl refuses a translation rule after a filter rule or an {@code anchor} ("Rules must be in
   * order: options, normalization, queueing, translation, filtering", its {@code require-order}).
   */
  private static void requireTranslationOrder(Cursor cursor, List<Statement> before) {
    for (Statement statement : before) {
      if (statement instanceof Rule || statement instanceof AnchorAll) {
        throw cursor.error("a translation rule after filter rules (pfctl requires this order)");
      }
    }
  }

  /** {@code inet}: false, {@code inet6}: true, neither: null (any family). */
  private static @Nullable Boolean parseFamily(Cursor cursor) {
    if (cursor.peekIs("inet") || cursor.peekIs("inet6")) {
      return cursor.next().equals("inet6");
    }
    return null;
  }

  private static Redirect parseRedirect(Cursor cursor) {
    Boolean ipv6 = parseFamily(cursor);
    PfPacket.IpProtocol protocol = null;
    if (cursor.peekIs("proto")) {
      cursor.next();
      String name = cursor.next();
      if (name.equals("tcp")) {
        protocol = PfPacket.IpProtocol.TCP;
      } else if (name.equals("udp")) {
        protocol = PfPacket.IpProtocol.UDP;
      } else {
        throw cursor.error("rdr rules of protocol '" + name + "' are outside the evaluated subset");
      }
    }
    cursor.expect("from");
    HostMatch from = parseHost(cursor);
    cursor.expect("to");
    HostMatch to = parseHost(cursor);
    PortMatch port = null;
    if (cursor.peekIs("port")) {
      cursor.next();
      if (protocol == null) {
        throw cursor.error("a port needs 'proto tcp' or 'proto udp' (pfctl refuses it otherwise)");
      }
      port = parsePort(cursor);
    }
    cursor.expect("->");
    String target = cursor.next();
    IpNetwork address = parseNetwork(cursor, target);
    if (!address.isSingleHost()) {
      throw cursor.error("an rdr to a network (a pool) is outside the evaluated subset");
    }
    Integer redirectPort = null;
    if (cursor.peekIs("port")) {
      cursor.next();
      if (protocol == null) {
        throw cursor.error("a port needs 'proto tcp' or 'proto udp' (pfctl refuses it otherwise)");
      }
      redirectPort = portNumber(cursor, cursor.next());
    }
    if (cursor.hasNext()) {
      throw cursor.error("unexpected '" + cursor.next() + "' after the rule");
    }
    for (HostMatch host : List.of(from, to)) {
      Boolean hostFamily = host.ipv6();
      if (hostFamily != null && ipv6 != null && !hostFamily.equals(ipv6)) {
        throw cursor.error("an address of the other family than the rule's");
      }
    }
    if (ipv6 != null && ipv6 != address.isIpv6()) {
      throw cursor.error("an rdr to the other family than the rule's (pf cannot translate it)");
    }
    return new Redirect(
        cursor.line, cursor.text, ipv6, protocol, from, to, port, address.address(), redirectPort);
  }

  /**
   * Parses the text {@code pfctl -T replace -f -} reads: one address or network per line.
   *
   * @throws IllegalArgumentException naming the bad line
   */
  static List<IpNetwork> parseTableContents(String where, String text) {
    List<IpNetwork> entries = new ArrayList<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      int hash = line.indexOf('#');
      String entry = (hash >= 0 ? line.substring(0, hash) : line).strip();
      if (!entry.isEmpty()) {
        entries.add(parseNetwork(new Cursor(where, i + 1, entry), entry));
      }
    }
    return entries;
  }

  private static List<IpNetwork> parseTableDefinition(Cursor cursor) {
    List<IpNetwork> entries = new ArrayList<>();
    boolean listed = false;
    while (cursor.hasNext()) {
      String token = cursor.next();
      if (token.equals("persist") || token.equals("const")) {
        continue;
      }
      if (!token.equals("{") || listed) {
        throw cursor.error("unexpected '" + token + "' in a table definition");
      }
      listed = true;
      while (true) {
        String entry = cursor.next();
        if (entry.equals("}")) {
          break;
        }
        if (entry.equals(",")) {
          continue;
        }
        if (entry.startsWith("!")) {
          throw cursor.error("negated table entries are outside the evaluated subset");
        }
        entries.add(parseNetwork(cursor, entry));
      }
    }
    return entries;
  }

  private static Rule parseRule(Cursor cursor, boolean pass) {
    if (!pass && cursor.peekIs("return")) {
      cursor.next();
    } else if (!pass && cursor.peekIs("drop")) {
      cursor.next();
    }
    PfPacket.Direction direction = null;
    if (cursor.peekIs("in")) {
      cursor.next();
      direction = PfPacket.Direction.IN;
    } else if (cursor.peekIs("out")) {
      cursor.next();
      direction = PfPacket.Direction.OUT;
    }
    if (cursor.peekIs("log")) {
      cursor.next();
    }
    boolean quick = false;
    if (cursor.peekIs("quick")) {
      cursor.next();
      quick = true;
    }
    String interfaceName = null;
    boolean interfaceNegated = false;
    if (cursor.peekIs("on")) {
      cursor.next();
      String name = cursor.next();
      if (name.equals("!")) {
        interfaceNegated = true;
        name = cursor.next();
      }
      if (!name.matches("[a-z]+[0-9]+")) {
        throw cursor.error("'" + name + "' is not an interface name");
      }
      interfaceName = name;
    }
    Boolean ipv6 = parseFamily(cursor);
    PfPacket.IpProtocol protocol = null;
    if (cursor.peekIs("proto")) {
      cursor.next();
      String name = cursor.next();
      for (PfPacket.IpProtocol candidate : PfPacket.IpProtocol.values()) {
        if (candidate.keyword().equals(name)) {
          protocol = candidate;
        }
      }
      if (protocol == null) {
        throw cursor.error("unknown protocol '" + name + "'");
      }
    }
    HostMatch from = HostMatch.ANY;
    HostMatch to = HostMatch.ANY;
    PortMatch port = null;
    Set<Integer> icmp6Types = Set.of();
    String hosts = cursor.next();
    if (hosts.equals("from")) {
      from = parseHost(cursor);
      if (cursor.peekIs("port")) {
        throw cursor.error("source ports are outside the evaluated subset");
      }
      cursor.expect("to");
      to = parseHost(cursor);
      if (cursor.peekIs("port")) {
        cursor.next();
        if (protocol == null || !protocol.hasPorts()) {
          throw cursor.error(
              "a port needs 'proto tcp' or 'proto udp' (pfctl refuses it otherwise)");
        }
        port = parsePort(cursor);
      }
    } else if (!hosts.equals("all")) {
      throw cursor.error("expected 'from' or 'all', found '" + hosts + "'");
    }
    if (cursor.peekIs("icmp6-type")) {
      cursor.next();
      if (protocol != PfPacket.IpProtocol.ICMP6) {
        throw cursor.error("icmp6-type needs 'proto icmp6' (pfctl refuses it otherwise)");
      }
      icmp6Types = parseIcmp6Types(cursor);
    }
    boolean keepState = pass;
    if (cursor.peekIs("flags")) {
      cursor.next();
      cursor.expect("S/SA");
      if (!pass || protocol != PfPacket.IpProtocol.TCP) {
        throw cursor.error("'flags S/SA' is evaluated only on tcp pass rules");
      }
    }
    if (cursor.peekIs("keep") || cursor.peekIs("no")) {
      String which = cursor.next();
      cursor.expect("state");
      if (!pass) {
        throw cursor.error("state options are evaluated only on pass rules");
      }
      keepState = which.equals("keep");
    }
    if (cursor.hasNext()) {
      throw cursor.error("unexpected '" + cursor.next() + "' after the rule");
    }
    for (HostMatch host : List.of(from, to)) {
      Boolean hostFamily = host.ipv6();
      if (hostFamily != null && ipv6 != null && !hostFamily.equals(ipv6)) {
        throw cursor.error("an address of the other family than the rule's");
      }
      if (host.interfaceName() != null && ipv6 == null) {
        throw cursor.error("an interface's addresses are evaluated only in rules naming a family");
      }
    }
    return new Rule(
        cursor.line,
        cursor.text,
        pass,
        direction,
        quick,
        interfaceName,
        interfaceNegated,
        ipv6,
        protocol,
        from,
        to,
        port,
        icmp6Types,
        keepState);
  }

  private static Set<Integer> parseIcmp6Types(Cursor cursor) {
    Set<Integer> types = new java.util.TreeSet<>();
    if (!cursor.peekIs("{")) {
      types.add(icmp6Type(cursor, cursor.next()));
      return types;
    }
    cursor.next();
    while (true) {
      String token = cursor.next();
      if (token.equals("}")) {
        break;
      }
      if (!token.equals(",")) {
        types.add(icmp6Type(cursor, token));
      }
    }
    if (types.isEmpty()) {
      throw cursor.error("an empty icmp6-type list");
    }
    return types;
  }

  /** Types as numbers only: the names differ between pfctl versions (see pf.conf(5)). */
  private static int icmp6Type(Cursor cursor, String token) {
    if (!token.matches("[0-9]{1,3}") || Integer.parseInt(token) > 255) {
      throw cursor.error("'" + token + "' is not an ICMPv6 type number (0-255)");
    }
    return Integer.parseInt(token);
  }

  private static HostMatch parseHost(Cursor cursor) {
    String token = cursor.next();
    if (token.equals("any")) {
      return HostMatch.ANY;
    }
    boolean negated = false;
    if (token.equals("!")) {
      negated = true;
      token = cursor.next();
    }
    if (token.startsWith("<")) {
      return new HostMatch(negated, List.of(), cursor.tableName(token), null);
    }
    if (token.matches("\\([a-z]+[0-9]+\\)")) {
      return new HostMatch(negated, List.of(), null, token.substring(1, token.length() - 1));
    }
    if (!token.equals("{")) {
      return new HostMatch(negated, List.of(parseNetwork(cursor, token)), null, null);
    }
    if (negated) {
      throw cursor.error("negated lists are outside the evaluated subset");
    }
    List<IpNetwork> networks = new ArrayList<>();
    while (true) {
      String entry = cursor.next();
      if (entry.equals("}")) {
        break;
      }
      if (!entry.equals(",")) {
        IpNetwork network = parseNetwork(cursor, entry);
        if (!networks.isEmpty() && networks.get(0).isIpv6() != network.isIpv6()) {
          throw cursor.error("a list mixing address families is outside the evaluated subset");
        }
        networks.add(network);
      }
    }
    if (networks.isEmpty()) {
      throw cursor.error("an empty address list");
    }
    return new HostMatch(false, networks, null, null);
  }

  private static PortMatch parsePort(Cursor cursor) {
    String token = cursor.next();
    PortOp unary =
        switch (token) {
          case "=" -> PortOp.EQ;
          case "!=" -> PortOp.NE;
          case "<" -> PortOp.LT;
          case "<=" -> PortOp.LE;
          case ">" -> PortOp.GT;
          case ">=" -> PortOp.GE;
          default -> null;
        };
    if (unary != null) {
      int port = portNumber(cursor, cursor.next());
      return new PortMatch(unary, port, port);
    }
    int colon = token.indexOf(':');
    if (colon >= 0) {
      return range(cursor, PortOp.RANGE, token.substring(0, colon), token.substring(colon + 1));
    }
    if (cursor.peekIs("><") || cursor.peekIs("<>")) {
      PortOp op = cursor.next().equals("><") ? PortOp.INSIDE : PortOp.OUTSIDE;
      return range(cursor, op, token, cursor.next());
    }
    int port = portNumber(cursor, token);
    return new PortMatch(PortOp.EQ, port, port);
  }

  private static PortMatch range(Cursor cursor, PortOp op, String low, String high) {
    int first = portNumber(cursor, low);
    int last = portNumber(cursor, high);
    if (first > last) {
      throw cursor.error("port range " + first + " to " + last + " is reversed");
    }
    return new PortMatch(op, first, last);
  }

  private static int portNumber(Cursor cursor, String token) {
    if (!token.matches("[0-9]{1,5}") || Integer.parseInt(token) > 65535) {
      throw cursor.error("'" + token + "' is not a port number");
    }
    return Integer.parseInt(token);
  }

  private static IpNetwork parseNetwork(Cursor cursor, String token) {
    try {
      return IpNetwork.parse(token);
    } catch (IllegalArgumentException e) {
      throw cursor.error("'" + token + "' is not an address or network: " + e.getMessage());
    }
  }

  /** Tokens of one line; braces, commas and a leading '!' are tokens of their own. */
  private static final class Cursor {
    private final String where;
    private final int line;
    private final String text;
    private final List<String> tokens = new ArrayList<>();
    private int next;

    Cursor(String where, int line, String text) {
      this.where = where;
      this.line = line;
      this.text = text;
      String spaced = text.replace("{", " { ").replace("}", " } ").replace(",", " , ");
      for (String token : spaced.strip().split("\\s+", -1)) {
        if (token.length() > 1 && token.startsWith("!") && !token.startsWith("!=")) {
          tokens.add("!");
          tokens.add(token.substring(1));
        } else {
          tokens.add(token);
        }
      }
    }

    boolean hasNext() {
      return next < tokens.size();
    }

    boolean peekIs(String token) {
      return hasNext() && tokens.get(next).equals(token);
    }

    String next() {
      if (!hasNext()) {
        throw error("the line ends too early");
      }
      return tokens.get(next++);
    }

    void expect(String token) {
      String found = next();
      if (!found.equals(token)) {
        throw error("expected '" + token + "', found '" + found + "'");
      }
    }

    String tableName(String token) {
      if (!token.matches("<[A-Za-z0-9_]{1,31}>")) {
        throw error("'" + token + "' is not a table reference such as <tcp_443>");
      }
      return token.substring(1, token.length() - 1);
    }

    IllegalArgumentException error(String message) {
      return new IllegalArgumentException(
          where + ":" + line + ": " + message + " in '" + text + "'");
    }
  }
}
