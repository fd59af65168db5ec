package dev.egress.pf.pfctl;

import dev.egress.enforcer.TrafficCounters;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Parsers for what pfctl prints, and the filter that tells its normal chatter on standard error
 * from real errors. Pure functions; thread-safe.
 */
public final class PfctlOutput {

  /**
   * Lines pfctl writes to standard error when all is well (pfctl(8), and macOS's build of it): the
   * missing-ALTQ notice, the warning that {@code -f} may flush rules, enable tokens, table counts,
   * flush and state-kill summaries.
   */
  private static final List<Pattern> NOISE =
      List.of(
          Pattern.compile("No ALTQ support in kernel"),
          Pattern.compile("ALTQ related functions disabled"),
          Pattern.compile("(pfctl: )?Use of -f option, could result in flushing of rules"),
          Pattern.compile("present in the main ruleset added by the system at startup\\.?"),
          Pattern.compile("See /etc/pf\\.conf for further details\\.?"),
          Pattern.compile("Token : \\d+"),
          Pattern.compile("pf (already )?enabled"),
          Pattern.compile("pf (not )?disabled"),
          Pattern.compile("\\d+(/\\d+)? addresses (added|deleted|changed|zeroed)\\."),
          Pattern.compile("\\d+ tables? (created|deleted)\\."),
          Pattern.compile("no changes\\."),
          Pattern.compile(
              "(rules|nat|altq|queue|states|Tables|source tracking entries|"
                  + "counters|interface flags|dummynet) cleared"),
          Pattern.compile("killed \\d+ states from \\d+ sources and \\d+ destinations"));

  private static final Pattern TOKEN = Pattern.compile("(?m)^Token : (\\d+)\\s*$");
  private static final Pattern STATISTICS =
      Pattern.compile("Packets:\\s*(\\d+)\\s+Bytes:\\s*(\\d+)");
  private static final Pattern STATUS = Pattern.compile("(?m)^Status: (Enabled|Disabled)\\b");

  private PfctlOutput() {}

  /** The lines of {@code stderr} that are not normal chatter, trimmed, blank ones dropped. */
  public static List<String> significantStderr(String stderr) {
    List<String> significant = new ArrayList<>();
    for (String line : stderr.split("\n", -1)) {
      String trimmed = line.strip();
      if (!trimmed.isEmpty() && NOISE.stream().noneMatch(p -> p.matcher(trimmed).matches())) {
        significant.add(trimmed);
      }
    }
    return significant;
  }

  /** The token {@code pfctl -E} printed, if it printed one. */
  public static OptionalLong enableToken(String output) {
    Matcher matcher = TOKEN.matcher(output);
    return matcher.find()
        ? OptionalLong.of(Long.parseLong(matcher.group(1)))
        : OptionalLong.empty();
  }

  /**
   * Whether {@code pfctl -s info} says pf is enabled.
   *
   * @throws IllegalArgumentException if there is no {@code Status:} line: the output is not
   *     understood, and guessing could only be wrong one way or the other
   */
  public static boolean infoSaysEnabled(String info) {
    Matcher matcher = STATUS.matcher(info);
    if (!matcher.find()) {
      throw new IllegalArgumentException(
          "'pfctl -s info' printed no 'Status: Enabled|Disabled' line: " + abbreviate(info));
    }
    return matcher.group(1).equals("Enabled");
  }

  /** The anchor paths {@code pfctl -a P -s Anchors} lists, one per line, in pfctl's order. */
  public static List<String> anchors(String output) {
    return lines(output);
  }

  /** The rules {@code pfctl -a A -s rules} prints, one per line, whitespace collapsed. */
  public static List<String> rules(String output) {
    List<String> rules = new ArrayList<>();
    for (String line : lines(output)) {
      rules.add(line.replaceAll("\\s+", " "));
    }
    return rules;
  }

  /**
   * The sum of the rules' statistics that {@code pfctl -a A -v -s rules} prints, each rule followed
   * by {@code [ Evaluations: N Packets: N Bytes: N States: N ]} (pfctl(8) {@code -v}; further
   * bracketed lines such as {@code [ Inserted: uid U pid P ... ]} are skipped): {@code pass} rules
   * count as allowed, {@code block} rules as refused. Empty when the output holds no rule (an
   * anchor that is not loaded).
   *
   * @throws IllegalArgumentException if a {@code pass} or {@code block} rule has no statistics line
   *     after it (the output is not that of {@code -v}), so that missing counts never read as zero
   */
  public static Optional<TrafficCounters> ruleCounters(String output) {
    TrafficCounters total = TrafficCounters.ZERO;
    String rule = null;
    boolean anyRule = false;
    for (String line : lines(output)) {
      if (line.startsWith("[")) {
        Matcher statistics = STATISTICS.matcher(line);
        if (rule != null && statistics.find()) {
          long packets = Long.parseLong(statistics.group(1));
          long bytes = Long.parseLong(statistics.group(2));
          total =
              total.plus(
                  rule.startsWith("pass")
                      ? TrafficCounters.allowed(packets, bytes)
                      : TrafficCounters.refused(packets, bytes));
          rule = null;
        }
        continue;
      }
      requireCounted(rule);
      anyRule = true;
      rule = line.startsWith("pass ") || line.startsWith("block ") ? line : null;
    }
    requireCounted(rule);
    return anyRule ? Optional.of(total) : Optional.empty();
  }

  private static void requireCounted(@Nullable String rule) {
    if (rule != null) {
      throw new IllegalArgumentException(
          "pfctl printed no statistics for rule " + abbreviate(rule));
    }
  }

  /**
   * The lines of {@code pfctl -s state} that name {@code address} as any of their endpoints: the
   * container's own side, the remote side, or (for a NAT'd flow, printed {@code ALL tcp LAN -> GWY
   * -> EXT}) the translation. An IPv4 endpoint prints as {@code a.b.c.d:port}, an IPv6 one as
   * {@code addr[port]}; words that are neither are skipped.
   */
  public static List<String> statesNaming(String output, InetAddress address) {
    List<String> naming = new ArrayList<>();
    for (String line : lines(output)) {
      for (String word : line.split("\\s+")) {
        if (address.equals(endpointAddress(word))) {
          naming.add(line.replaceAll("\\s+", " "));
          break;
        }
      }
    }
    return naming;
  }

  private static @Nullable InetAddress endpointAddress(String word) {
    int bracket = word.indexOf('[');
    int colon = word.lastIndexOf(':');
    String host;
    if (bracket > 0 && word.endsWith("]")) {
      host = word.substring(0, bracket);
    } else if (colon > 0 && word.indexOf(':') == colon) {
      host = word.substring(0, colon);
    } else {
      host = word;
    }
    try {
      return IpAddresses.parse(host);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** The entries {@code pfctl -a A -t T -T show} prints: addresses or networks, as text. */
  public static List<String> tableEntries(String output) {
    return lines(output);
  }

  private static List<String> lines(String output) {
    List<String> lines = new ArrayList<>();
    for (String line : output.split("\n", -1)) {
      String trimmed = line.strip();
      if (!trimmed.isEmpty()) {
        lines.add(trimmed);
      }
    }
    return lines;
  }

  static String abbreviate(String text) {
    String oneLine = text.strip().replace('\n', '|');
    return oneLine.length() <= 200 ? "'" + oneLine + "'" : "'" + oneLine.substring(0, 200) + "…'";
  }
}
