package dev.egress.nftables;

import dev.egress.enforcer.TrafficCounters;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code nft list table inet T} printed, parsed: chains with their rules (counter values
 * removed) and the sums of their counters, sets with their elements, and the dispatch maps. Parsing
 * is lenient about layout and strict about content: an element that is not what its set should hold
 * (an address; in a container's host set, a {@link SetElement}) reads as one that no plan holds, so
 * drift checks see it as a difference. Elements of host sets with a timeout (a DNS filter's grants)
 * are kept apart from the others, each with the time it has left.
 */
final class NftListing {
  /**
   * The time left of an element whose expiry is missing or unreadable: longer than any nft writes,
   * so never taken for a grant about to end.
   */
  static final Duration UNREADABLE_TIME = ChronoUnit.FOREVER.getDuration();

  private static final Pattern BLOCK = Pattern.compile("(?m)^\\s*(chain|set|map) (\\S+) \\{\\s*$");
  private static final Pattern COUNTER = Pattern.compile("counter packets \\d+ bytes \\d+");
  private static final Pattern COUNTED =
      Pattern.compile(
          "counter packets (\\d+) bytes (\\d+) (accept|goto "
              + NftRenderer.DENY
              + ")(?: comment \"[^\"]*\")?$");
  private static final Pattern HANDLE = Pattern.compile("\\s+# handle \\d+$");
  private static final Pattern ELEMENTS =
      Pattern.compile("elements = \\{([^}]*)\\}", Pattern.DOTALL);
  private static final Pattern TIMED =
      Pattern.compile("(.+?)\\s+timeout\\s+\\S+(?:\\s+expires\\s+(\\S+))?");
  private static final Pattern TIME_PART = Pattern.compile("(\\d+)(ms|d|h|m|s)");

  private final Map<String, List<String>> chains = new LinkedHashMap<>();
  private final Map<String, String> chainHeaders = new LinkedHashMap<>();
  private final Map<String, TrafficCounters> counters = new LinkedHashMap<>();
  private final Map<String, Set<InetAddress>> sets = new LinkedHashMap<>();
  private final Map<String, Set<SetElement>> hostSets = new LinkedHashMap<>();
  private final Map<String, List<String>> hostSetTexts = new LinkedHashMap<>();
  private final Map<String, Map<SetElement, Duration>> timed = new LinkedHashMap<>();
  private final Map<InetAddress, String> dispatch = new LinkedHashMap<>();
  private final Set<String> links = new HashSet<>();
  // Per-chain views, built once at the end of parse: a check asks for them once per rule set, and
  // scanning the whole table each time made a check quadratic (1,000 rule sets: 21.6 s).
  private final Map<ChainName, Map<String, Set<SetElement>>> setsByChain = new HashMap<>();
  private final Map<ChainName, Map<String, Map<SetElement, Duration>>> timedByChain =
      new HashMap<>();
  private final Map<String, List<InetAddress>> dispatchByChain = new HashMap<>();

  private NftListing() {}

  /**
   * {@code text} with the counters' values removed, as the parsed rules hold them: two listings
   * that differ only in what was counted read the same.
   */
  static String withoutCounters(String text) {
    return COUNTER.matcher(text).replaceAll("counter");
  }

  static NftListing parse(String text) {
    NftListing listing = new NftListing();
    String[] lines = text.split("\n");
    for (int i = 0; i < lines.length; i++) {
      Matcher block = BLOCK.matcher(lines[i]);
      if (!block.matches()) {
        continue;
      }
      StringBuilder body = new StringBuilder();
      int j = i + 1;
      for (; j < lines.length && !lines[j].strip().equals("}"); j++) {
        body.append(lines[j]).append('\n');
      }
      listing.add(block.group(1), block.group(2), body.toString());
      i = j;
    }
    listing.index();
    return listing;
  }

  private void index() {
    hostSets.forEach(
        (set, elements) ->
            ChainName.ofSet(set)
                .ifPresent(
                    chain -> {
                      setsByChain
                          .computeIfAbsent(chain, c -> new LinkedHashMap<>())
                          .put(set, elements);
                      timedByChain
                          .computeIfAbsent(chain, c -> new LinkedHashMap<>())
                          .put(set, timed.getOrDefault(set, Map.of()));
                    }));
    dispatch.forEach(
        (address, target) ->
            dispatchByChain.computeIfAbsent(target, t -> new ArrayList<>()).add(address));
  }

  private void add(String kind, String name, String body) {
    if (kind.equals("chain")) {
      List<String> rules = new ArrayList<>();
      TrafficCounters counted = TrafficCounters.ZERO;
      String header = "";
      for (String line : body.split("\n")) {
        String rule = HANDLE.matcher(line.strip()).replaceAll("");
        if (rule.isEmpty()) {
          continue;
        }
        if (rule.startsWith("type ")) {
          header = rule;
        } else {
          rules.add(COUNTER.matcher(rule).replaceAll("counter"));
          counted = counted.plus(counted(rule));
        }
      }
      chains.put(name, List.copyOf(rules));
      counters.put(name, counted);
      chainHeaders.put(name, header);
      return;
    }
    Matcher elements = ELEMENTS.matcher(body);
    String content = elements.find() ? elements.group(1) : "";
    if (kind.equals("set") && name.equals(NftRenderer.LINKS)) {
      for (String element : content.split(",")) {
        String text = element.strip();
        if (text.length() >= 2 && text.startsWith("\"") && text.endsWith("\"")) {
          links.add(text.substring(1, text.length() - 1));
        }
      }
    } else if (kind.equals("set") && ChainName.ofSet(name).isPresent()) {
      Set<SetElement> lasting = new HashSet<>();
      List<String> texts = new ArrayList<>();
      Map<SetElement, Duration> expiring = new HashMap<>();
      for (String element : content.split(",")) {
        String text = element.strip();
        Matcher withTimeout = TIMED.matcher(text);
        if (withTimeout.matches()) {
          // No expiry shown reads as a long time, as an unreadable one does: such an element is
          // drift unless the plan grants it, never a grant about to end.
          // Unreadable elements share one key: the longest time left is the one that counts.
          String left = withTimeout.group(2);
          expiring.merge(
              SetElement.parse(withTimeout.group(1)),
              left == null ? UNREADABLE_TIME : parseTime(left),
              (one, other) -> one.compareTo(other) >= 0 ? one : other);
        } else if (!text.isEmpty()) {
          lasting.add(SetElement.parse(text));
          texts.add(text);
        }
      }
      hostSets.put(name, Set.copyOf(lasting));
      hostSetTexts.put(name, List.copyOf(texts));
      timed.put(name, Map.copyOf(expiring));
    } else if (kind.equals("set")) {
      Set<InetAddress> addresses = new HashSet<>();
      for (String element : content.split(",")) {
        String text = element.strip();
        if (!text.isEmpty()) {
          addresses.add(parseAddress(text));
        }
      }
      sets.put(name, Set.copyOf(addresses));
    } else if (name.equals(NftRenderer.MAP4) || name.equals(NftRenderer.MAP6)) {
      for (String element : content.split(",")) {
        String[] keyValue = element.strip().split("\\s*:\\s*jump\\s+");
        if (keyValue.length == 2) {
          dispatch.put(parseAddress(keyValue[0].strip()), keyValue[1].strip());
        }
      }
    }
  }

  /**
   * What a rule's counter holds, by what the rule does after counting: {@code accept} lets through,
   * {@code goto deny} refuses; other rules count nothing here.
   */
  private static TrafficCounters counted(String rule) {
    Matcher counter = COUNTED.matcher(rule);
    if (!counter.find()) {
      return TrafficCounters.ZERO;
    }
    long packets = saturated(counter.group(1));
    long bytes = saturated(counter.group(2));
    return counter.group(3).equals("accept")
        ? TrafficCounters.allowed(packets, bytes)
        : TrafficCounters.refused(packets, bytes);
  }

  /**
   * A counter's digits as a count: nft prints unsigned 64-bit values, and one past {@link
   * Long#MAX_VALUE} (which no traffic reaches, but a root process can set) reads as that maximum.
   */
  private static long saturated(String digits) {
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      // Digits only (the pattern's \d is ASCII), so the only failure is a value too large.
      return Long.MAX_VALUE;
    }
  }

  private static InetAddress parseAddress(String text) {
    try {
      return IpAddresses.parse(text);
    } catch (IllegalArgumentException e) {
      // Not an address we could have written (an interval, a foreign element): never equal to
      // anything expected, so a drift check reports it.
      return IpAddresses.parse("::");
    }
  }

  /** {@code 1h2m3s4ms} as nft prints a time; what it cannot read counts as a long time. */
  static Duration parseTime(String text) {
    Matcher part = TIME_PART.matcher(text);
    Duration total = Duration.ZERO;
    int end = 0;
    while (part.find() && part.start() == end) {
      long amount = Long.parseLong(part.group(1));
      total =
          total.plus(
              switch (part.group(2)) {
                case "d" -> Duration.ofDays(amount);
                case "h" -> Duration.ofHours(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "s" -> Duration.ofSeconds(amount);
                default -> Duration.ofMillis(amount);
              });
      end = part.end();
    }
    // An element whose time left is unreadable is never taken for one about to expire.
    return end == text.length() && end > 0 ? total : UNREADABLE_TIME;
  }

  /** Chain name → rules as listed, counters without values. */
  Map<String, List<String>> chains() {
    return chains;
  }

  /** Chain name → the sum of its rules' counters (see {@link #counted}). */
  Map<String, TrafficCounters> counters() {
    return counters;
  }

  /** Chain name → its {@code type ... hook ... priority ...; policy ...;} line, or empty. */
  String chainHeader(String chain) {
    return chainHeaders.getOrDefault(chain, "");
  }

  /** Set name → its addresses, for the sets that are no container's (the redirect sets). */
  Map<String, Set<InetAddress>> sets() {
    return sets;
  }

  /** Set name → elements without a timeout, for the containers' sets. */
  Map<String, Set<SetElement>> hostSets() {
    return hostSets;
  }

  /**
   * Set name → elements without a timeout as nft printed them, in its order, for the containers'
   * sets: what a reader is shown, unreadable ones included.
   */
  Map<String, List<String>> hostSetTexts() {
    return hostSetTexts;
  }

  /** Set name → elements with a timeout, each with the time it has left: containers' sets. */
  Map<String, Map<SetElement, Duration>> timed() {
    return timed;
  }

  /** The sets of {@code chain}'s rule set, with their elements without a timeout. */
  Map<String, Set<SetElement>> setsOf(ChainName chain) {
    return new LinkedHashMap<>(setsByChain.getOrDefault(chain, Map.of()));
  }

  /** The sets of {@code chain}'s rule set, each with its elements that have a timeout. */
  Map<String, Map<SetElement, Duration>> timedOf(ChainName chain) {
    return timedByChain.getOrDefault(chain, Map.of());
  }

  /** The interfaces in the set of container links. */
  Set<String> links() {
    return links;
  }

  /** Source address → chain it jumps to, from both dispatch maps. */
  Map<InetAddress, String> dispatch() {
    return dispatch;
  }

  /** The addresses the dispatch maps send to {@code chain}. */
  List<InetAddress> dispatchedTo(String chain) {
    return new ArrayList<>(dispatchByChain.getOrDefault(chain, List.of()));
  }
}
