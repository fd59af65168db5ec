package dev.egress.pf.render;

import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.TableName;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.UserText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The only text a privileged pfctl load may carry: the line shapes {@link PfRenderer} writes, with
 * every source address and guarded subnet inside a {@link LoadScope}, and {@link Pfctl#END_OF_LOAD}
 * as the last line. The sudo wrapper that {@code egressctl sudoers} generates checks each load
 * against these same shapes (their regular expressions are compiled into the script) before pfctl
 * reads a byte of it; {@link #check} is the same check in Java.
 *
 * <p>What the shapes exclude, so that the user sudoers names cannot reach beyond the managed
 * containers: {@code include}, {@code load anchor}, {@code file} tables, macros, options, {@code
 * rdr} but a managed source's port 53 to the scope's DNS filter's port 53, {@code nat}, {@code pass
 * out} but the host's own connections from a guarded bridge's addresses into a managed network,
 * {@code on} anything but a guarded bridge, ICMPv6 but neighbour discovery and router solicitation
 * to link-scope destinations (and, from a container's address, its own /64) with {@code no state},
 * any anchor but {@code anchor "*"} in the parent, source addresses outside the scope, host names
 * (pfctl would resolve them as root), comments, line continuations, and every byte that is not
 * printable ASCII or a newline.
 *
 * <p>Adding a rule shape is one {@link #shape} call in the list of its load: its regular expression
 * and the {@link Role} of each part that names an address or interface.
 *
 * <p>Each regular expression is in the common subset of Java and POSIX extended regular expressions
 * (bash's {@code [[ =~ ]]} in the C locale), anchored at both ends, and every part a role checks is
 * a group bounded by literal text, so that Java's and POSIX's matchers capture the same text. A
 * literal parenthesis is written {@code [(]} or {@code [)]}, never escaped. Stateless and
 * thread-safe.
 */
public final class LoadGrammar {
  /** The loads the wrapper lets through, by the pfctl call that carries them. */
  public enum Load {
    /** {@code pfctl -a PARENT -f -}: {@code anchor "*"} and the guard. */
    PARENT,
    /** {@code pfctl -a PARENT/NAME -f -}: one container's tables and rules. */
    CHILD,
    /** {@code pfctl -a PARENT/NAME -t TABLE -T replace -f -}: one address or network per line. */
    TABLE
  }

  /** What a captured part of a line must be besides its shape. */
  public enum Role {
    /**
     * The part names at least one address or network (separated by spaces, commas or braces), and
     * every one lies inside one of the scope's networks ({@link LoadScope#holds}).
     */
    MANAGED,
    /** The part is one of the scope's bridges ({@link LoadScope#isBridge}). */
    BRIDGE,
    /** The part is an IPv6 /64 on a managed network's link ({@link LoadScope#holdsOnLink}). */
    ON_LINK,
    /** The part is the scope's DNS filter address ({@link LoadScope#isDnsFilter}). */
    DNS_FILTER;

    /**
     * The name the wrapper script calls this check by: {@code managed}, {@code bridge}, {@code
     * on_link}, {@code dns_filter}.
     */
    public String scriptName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A captured group of a shape's regular expression and the role its text must fill.
   *
   * @param group the group's number, counted by opening parentheses as both Java and POSIX do
   * @param role what its text must be
   */
  public record Check(int group, Role role) {
    public Check {
      Objects.requireNonNull(role, "role");
    }
  }

  /**
   * One kind of line a load may hold.
   *
   * @param description what the renderer writes it for, for messages
   * @param regex the whole line, from {@code ^} to {@code $}
   * @param checks the roles of its captured parts
   */
  public record LineShape(String description, String regex, List<Check> checks) {
    public LineShape {
      Objects.requireNonNull(description, "description");
      Objects.requireNonNull(regex, "regex");
      checks = List.copyOf(checks);
    }
  }

  private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

  /** A dotted-quad IPv4 address without leading zeros, in the shapes' kind of expression. */
  public static final String IPV4 = OCTET + "(\\." + OCTET + "){3}";

  // Loose: a malformed literal fails pfctl's parser, and a role's check parses strictly.
  private static final String IPV6 = "[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}";
  private static final String HOST = "(" + IPV4 + "|" + IPV6 + ")";
  private static final String NETWORK =
      "(" + IPV4 + "(/(3[0-2]|[12]?[0-9]))?|" + IPV6 + "(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)";
  private static final String TABLE = "<" + TableName.PATTERN + ">";
  private static final String PORT = "[1-9][0-9]{0,4}";
  private static final String PORTS = "port (= " + PORT + "|" + PORT + ":" + PORT + ")";
  private static final String FAMILY = "(inet|inet6)";
  private static final String PROTOCOL = "(tcp|udp)";
  private static final String BLOCK = "block return in( log)? quick ";
  private static final String ICMP6 = " inet6 proto icmp6 from ";
  private static final String ND_TYPES =
      " icmp6-type ("
          + String.join("|", PfRenderer.NEIGHBOUR_DISCOVERY.stream().map(String::valueOf).toList())
          + ") no state";
  private static final String LINK_DESTINATION =
      "("
          + String.join(
              "|", PfRenderer.LINK_DESTINATIONS.stream().map(IpNetwork::toString).toList())
          + ")";

  private static final List<LineShape> PARENT_LINES =
      List.of(
          shape(
              "the anchor rule that evaluates container anchors' translation rules",
              "rdr-anchor \"\\*\""),
          shape("the anchor rule that evaluates container anchors", "anchor \"\\*\""),
          shape(
              "duplicate address detection on a guarded bridge",
              "pass in quick on ",
              bridge(ManagedNetwork.INTERFACE_PATTERN),
              ICMP6
                  + ":: to "
                  + PfRenderer.SOLICITED_NODES
                  + " icmp6-type "
                  + PfRenderer.NEIGHBOUR_DISCOVERY.get(0)
                  + " no state"),
          shape(
              "link-local neighbour discovery on a guarded bridge",
              "pass in quick on ",
              bridge(ManagedNetwork.INTERFACE_PATTERN),
              ICMP6 + PfRenderer.LINK_LOCAL + " to " + LINK_DESTINATION + ND_TYPES),
          shape(
              "router solicitation on a guarded bridge",
              "pass in quick on ",
              bridge(ManagedNetwork.INTERFACE_PATTERN),
              ICMP6
                  + PfRenderer.LINK_LOCAL
                  + " to "
                  + PfRenderer.ALL_ROUTERS
                  + " icmp6-type "
                  + PfRenderer.ROUTER_SOLICITATION
                  + " no state"),
          shape(
              "the host's own connections to a managed network",
              "pass out quick on ",
              bridge(ManagedNetwork.INTERFACE_PATTERN),
              " " + FAMILY + " proto (tcp|udp) from [(]",
              bridge(ManagedNetwork.INTERFACE_PATTERN),
              "[)] to ",
              managed(NETWORK),
              " (flags S/SA )?keep state"),
          shape(
              "a guard of a subnet",
              BLOCK + "on ! lo0 " + FAMILY + " from ",
              managed(NETWORK),
              " to any"),
          shape(
              "a guard of a bridge",
              BLOCK + "on ",
              bridge(ManagedNetwork.INTERFACE_PATTERN),
              " all"));

  private static final List<LineShape> CHILD_LINES =
      List.of(
          shape(
              "a table of destinations",
              "table " + TABLE + " persist( \\{ " + NETWORK + "(, " + NETWORK + ")* \\})?"),
          shape(
              "the redirect of the container's DNS to the DNS filter",
              "rdr " + FAMILY + " proto " + PROTOCOL + " from ",
              managed(HOST),
              " to any port = 53 -> ",
              dnsFilter(HOST),
              " port 53"),
          shape(
              "a pass of the container's traffic",
              "pass in quick " + FAMILY + " proto " + PROTOCOL + " from ",
              managed(HOST),
              " to (any|" + TABLE + "|" + NETWORK + ") " + PORTS),
          shape(
              "neighbour discovery of the container's IPv6 address on the link",
              "pass in quick" + ICMP6,
              managed(HOST),
              " to " + LINK_DESTINATION + ND_TYPES),
          shape(
              "neighbour discovery of the container's IPv6 address in its own /64",
              "pass in quick" + ICMP6,
              managed(HOST),
              " to ",
              onLink(IPV6 + "/64"),
              ND_TYPES),
          shape(
              "a block of DNS the policy does not allow",
              BLOCK + FAMILY + " proto " + PROTOCOL + " from ",
              managed(HOST),
              " to any port = 53"),
          shape(
              "the final block of the container's traffic",
              BLOCK + FAMILY + " from ",
              managed(HOST),
              " to any"));

  private static final List<LineShape> TABLE_LINES = List.of(shape("a table entry", NETWORK));

  private static final Map<String, Pattern> COMPILED = new HashMap<>();

  static {
    for (Load load : Load.values()) {
      shapes(load).forEach(shape -> COMPILED.put(shape.regex(), Pattern.compile(shape.regex())));
    }
  }

  private LoadGrammar() {}

  /** The shapes of the lines {@code load} may hold besides its end line, in matching order. */
  public static List<LineShape> shapes(Load load) {
    return switch (load) {
      case PARENT -> PARENT_LINES;
      case CHILD -> CHILD_LINES;
      case TABLE -> TABLE_LINES;
    };
  }

  /**
   * Checks {@code text}, as {@link Pfctl} sends it (end line included), the way the sudo wrapper
   * does: at most {@link Pfctl#MAX_LOAD_BYTES} bytes, printable ASCII and newlines only, ended by
   * {@link Pfctl#END_OF_LOAD} and a newline, every other line one of {@link #shapes} (the first
   * that matches) with its checks passed against {@code scope}.
   *
   * @throws IllegalArgumentException saying which line is refused and why
   */
  public static void check(Load load, String text, LoadScope scope) {
    Objects.requireNonNull(load, "load");
    Objects.requireNonNull(scope, "scope");
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != '\n' && (c < 0x20 || c > 0x7e)) {
        throw new IllegalArgumentException(
            "the text holds a character that is not printable ASCII on line "
                + (lineOf(text, i) + 1));
      }
    }
    if (text.length() > Pfctl.MAX_LOAD_BYTES) {
      throw new IllegalArgumentException(
          "the text has " + text.length() + " bytes, more than " + Pfctl.MAX_LOAD_BYTES);
    }
    if (!text.endsWith("\n")) {
      throw new IllegalArgumentException("the text does not end with a newline: cut short?");
    }
    String[] lines = text.substring(0, text.length() - 1).split("\n", -1);
    if (!lines[lines.length - 1].equals(Pfctl.END_OF_LOAD)) {
      throw new IllegalArgumentException(
          "the text does not end with the line '"
              + Pfctl.END_OF_LOAD
              + "': cut short, or not written by egress-pf");
    }
    for (int i = 0; i < lines.length - 1; i++) {
      checkLine(load, i + 1, lines[i], scope);
    }
  }

  private static void checkLine(Load load, int number, String line, LoadScope scope) {
    for (LineShape shape : shapes(load)) {
      Matcher matcher = Objects.requireNonNull(COMPILED.get(shape.regex())).matcher(line);
      if (!matcher.matches()) {
        continue;
      }
      for (Check check : shape.checks()) {
        String part = Objects.requireNonNull(matcher.group(check.group()), "checked group");
        boolean ok =
            switch (check.role()) {
              case MANAGED -> managed(part, scope);
              case BRIDGE -> scope.isBridge(part);
              case ON_LINK -> scope.holdsOnLink(part);
              case DNS_FILTER -> scope.isDnsFilter(part);
            };
        if (!ok) {
          throw new IllegalArgumentException(
              "line "
                  + number
                  + " ("
                  + shape.description()
                  + ") names "
                  + UserText.quote(part)
                  + ", which is outside "
                  + scope);
        }
      }
      return;
    }
    throw new IllegalArgumentException(
        "line " + number + " is not a line egress-pf writes: " + UserText.quote(line));
  }

  /** Whether {@code part} names at least one address or network, and only ones inside. */
  private static boolean managed(String part, LoadScope scope) {
    List<String> tokens =
        Arrays.stream(part.split("[{}, ]+")).filter(token -> !token.isEmpty()).toList();
    return !tokens.isEmpty() && tokens.stream().allMatch(scope::holds);
  }

  private static int lineOf(String text, int index) {
    int lines = 0;
    for (int i = 0; i < index; i++) {
      if (text.charAt(i) == '\n') {
        lines++;
      }
    }
    return lines;
  }

  /** A part whose text must fill {@code role}: {@code regex} as one group. */
  private record Checked(Role role, String regex) {}

  private static Checked managed(String regex) {
    return new Checked(Role.MANAGED, regex);
  }

  private static Checked onLink(String regex) {
    return new Checked(Role.ON_LINK, regex);
  }

  private static Checked dnsFilter(String regex) {
    return new Checked(Role.DNS_FILTER, regex);
  }

  private static Checked bridge(String regex) {
    return new Checked(Role.BRIDGE, regex);
  }

  /**
   * A line of {@code parts}, each a regular expression ({@link String}) or a checked group ({@link
   * Checked}), in order. Group numbers are counted from the parentheses before each checked part:
   * the fragments hold no escaped parenthesis, so every one but {@code [(]} opens a group.
   */
  private static LineShape shape(String description, Object... parts) {
    StringBuilder regex = new StringBuilder("^");
    List<Check> checks = new ArrayList<>();
    for (Object part : parts) {
      if (part instanceof Checked checked) {
        checks.add(new Check(groupsIn(regex) + 1, checked.role()));
        regex.append('(').append(checked.regex()).append(')');
      } else {
        regex.append((String) part);
      }
    }
    String text = regex.append('$').toString();
    if (text.contains("\\(") || text.contains("'")) {
      throw new AssertionError("a shape holds an escaped parenthesis or a quote: " + text);
    }
    return new LineShape(description, text, checks);
  }

  /** The groups opened in {@code regex}: every {@code (} but a bracketed {@code [(]}. */
  private static int groupsIn(CharSequence regex) {
    int groups = 0;
    for (int i = 0; i < regex.length(); i++) {
      if (regex.charAt(i) == '(' && (i == 0 || regex.charAt(i - 1) != '[')) {
        groups++;
      }
    }
    return groups;
  }
}
