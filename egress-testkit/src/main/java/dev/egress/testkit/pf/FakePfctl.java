package dev.egress.testkit.pf;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * An in-memory pf that answers exactly the pfctl command lines egress-pf issues, for tests on
 * machines without pf. It models the enabled flag and enable tokens, whether the main ruleset still
 * holds {@code anchor "com.apple/*"}, anchors with their rules and tables (a flushed anchor stays
 * listed, as in pf), and tracked connections (states) keyed by source (before NAT) and destination,
 * which {@code -k} kills as pf does and {@code -s state} lists. An anchor's translation rules
 * ({@code rdr}, {@code rdr-anchor}) are kept with its rules but, as in pf, {@code -s rules} does
 * not list them; the packet verdicts apply them.
 *
 * <p>Why one class of this size: it answers pfctl's command lines over one model of pf's state
 * (enable tokens, anchors, tables, states) under one lock; parsing rules and deciding packets are
 * already {@link PfRuleset} and {@link PfEvaluator}.
 *
 * <p>Tables: {@code -T show}, {@code -T replace -f -}, and {@code -T add ADDRESS...} and {@code -T
 * delete ADDRESS...} of address literals (add creates a missing table, delete of a missing table
 * fails with "Table does not exist", as pfctl does). Entries never expire: pf tables have no
 * per-entry lifetime, so whoever grants an address for a while deletes it when the while is over.
 *
 * <p>Two ways to drive it:
 *
 * <ul>
 *   <li>In process: it is a {@link ProcessRunner}, so egress-pf's pfctl driver runs it where it
 *       would run the real program; {@link #execute(List, String)} is the same as a function of
 *       (argv, stdin) to {@link Result}.
 *   <li>As a program on PATH: {@link #installExecutable(Path)} writes a {@code pfctl} shell script
 *       that runs {@link #main} with the state kept in a file between invocations. A test sets the
 *       state up with {@link #writeTo}, runs the code under test, and reads it back with {@link
 *       #readFrom}.
 * </ul>
 *
 * <p>Commands a careful enforcer never runs ({@code -d}, {@code -F} without {@code -a}, {@code -F
 * states}, {@code -f} of a file or without {@code -a}, anything not understood) fail with exit
 * status 1 and are kept in {@link #refusedCalls()}, so a test can assert that there were none.
 *
 * <p>Like pfctl, it cannot load a ruleset into an anchor whose path has 64 characters or more: the
 * whole {@code -a} path is copied into a field of {@code PF_ANCHOR_NAME_SIZE} (64) bytes, and pfctl
 * stops with {@code pfctl_add_rule: strlcpy}.
 *
 * <p>Faults: {@link #failOn} makes matching calls fail with a given exit status and standard error
 * (pfctl's own words), {@link #hangOn} makes them hang, {@link #killsMiss} makes kills kill
 * nothing; {@link #wipeAnchor}, {@link #unhookMainRuleset} and {@link #disableByOthers} change pf
 * behind the enforcer's back.
 *
 * <p>Thread-safe: every method holds the instance's lock. Every call is recorded ({@link
 * #calls()}), failing or not, so a test can count privileged calls.
 */
public final class FakePfctl implements ProcessRunner {
  /** The main ruleset of a stock macOS (the parts pfctl -s rules shows). */
  static final String APPLE_SCRUB = "scrub-anchor \"com.apple/*\" all fragment reassemble";

  static final String APPLE_ANCHOR = "anchor \"com.apple/*\" all";

  /** pf's {@code PF_ANCHOR_NAME_SIZE}: loads into longer anchor paths fail (with the NUL). */
  private static final int PF_ANCHOR_NAME_SIZE = 64;

  private static final String ALTQ_NOISE =
      "No ALTQ support in kernel\nALTQ related functions disabled\n";
  private static final String LOAD_WARNING =
      "pfctl: Use of -f option, could result in flushing of rules\n"
          + "present in the main ruleset added by the system at startup.\n"
          + "See /etc/pf.conf for further details.\n";
  private static final Set<String> RULE_KEYWORDS =
      Set.of(
          "pass",
          "block",
          "match",
          "anchor",
          "rdr",
          "rdr-anchor",
          "scrub",
          "antispoof",
          "set",
          "table");

  /** Translation statements: {@code -s nat} shows them, {@code -s rules} does not. */
  private static final Set<String> TRANSLATION_KEYWORDS = Set.of("rdr", "rdr-anchor");

  private static final Pattern TABLE_DEFINITION =
      Pattern.compile(
          "table\\s+<([A-Za-z0-9_]{1,31})>((?:\\s+(?:persist|const|counters))*)\\s*(?:\\{(.*)\\})?");

  /** What one pfctl invocation returned. */
  public record Result(int exitCode, String stdout, String stderr) {
    public Result {
      Objects.requireNonNull(stdout, "stdout");
      Objects.requireNonNull(stderr, "stderr");
    }
  }

  /**
   * One invocation as the fake saw it.
   *
   * @param args the pfctl options, without the program (and any sudo prefix)
   * @param stdin what it was given on standard input
   */
  public record Call(List<String> args, String stdin) implements Serializable {
    private static final long serialVersionUID = 1L;

    public Call {
      args = List.copyOf(args);
      Objects.requireNonNull(stdin, "stdin");
    }

    /** The options as one line, as a shell would show them. */
    public String line() {
      return String.join(" ", args);
    }
  }

  /**
   * A state pf keeps for a connection.
   *
   * @param source who opened it; for a NAT'd state, the address before translation (pf's {@code
   *     lan}), which is what {@code pfctl -k} matches
   * @param destination where it goes
   * @param translated the address NAT put in place of {@code source} (the host's, on {@code en0}),
   *     or null for a state without translation
   */
  public record Connection(
      InetAddress source, InetAddress destination, @Nullable InetAddress translated)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    public Connection {
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(destination, "destination");
    }

    /** A state without translation. */
    public Connection(InetAddress source, InetAddress destination) {
      this(source, destination, null);
    }

    /**
     * The line {@code pfctl -s state} prints for it: {@code ALL tcp DEST:443 <- SOURCE:50000} (pf
     * prints the external side first for a state created inbound) or, translated, {@code ALL tcp
     * SOURCE:50000 -> TRANSLATED:60000 -> DEST:443}; IPv6 endpoints as {@code addr[port]}.
     */
    String stateLine() {
      String state = "       ESTABLISHED:ESTABLISHED";
      if (translated == null) {
        return "ALL tcp " + endpoint(destination, 443) + " <- " + endpoint(source, 50000) + state;
      }
      return "ALL tcp "
          + endpoint(source, 50000)
          + " -> "
          + endpoint(translated, 60000)
          + " -> "
          + endpoint(destination, 443)
          + state;
    }

    private static String endpoint(InetAddress address, int port) {
      return IpAddresses.isIpv6(address)
          ? IpAddresses.format(address) + "[" + port + "]"
          : IpAddresses.format(address) + ":" + port;
    }
  }

  /**
   * The rules and tables loaded in one anchor; an emptied anchor has neither.
   *
   * @param rules the rules in load order, one per line, whitespace collapsed: translation rules
   *     ({@code rdr}, {@code rdr-anchor}), which pfctl -s rules leaves out, and filter rules, as
   *     pfctl -s rules lists them
   * @param tables each table's entries as pfctl -T show prints them (an address, or a network)
   */
  public record Anchor(List<String> rules, Map<String, Set<String>> tables)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    public Anchor {
      rules = List.copyOf(rules);
      Map<String, Set<String>> copy = new TreeMap<>();
      tables.forEach((name, entries) -> copy.put(name, Set.copyOf(new TreeSet<>(entries))));
      tables = java.util.Collections.unmodifiableMap(copy);
    }

    /** The entries of {@code table} as networks; empty when there is no such table. */
    public Set<IpNetwork> entries(String table) {
      Set<IpNetwork> networks = new LinkedHashSet<>();
      tables.getOrDefault(table, Set.of()).forEach(text -> networks.add(IpNetwork.parse(text)));
      return networks;
    }

    static final Anchor EMPTY = new Anchor(List.of(), Map.of());

    /** Whether the anchor holds nothing, as after {@code pfctl -a A -F all}. */
    public boolean isEmpty() {
      return rules.isEmpty() && tables.isEmpty();
    }
  }

  private record Fault(String match, int exitCode, String stderr, long hangMillis, int remaining)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** Everything the fake remembers; serialised between invocations of the executable. */
  private static final class Model implements Serializable {
    private static final long serialVersionUID = 1L;
    boolean enabledByOthers;
    final Set<Long> tokens = new TreeSet<>();
    long nextToken = 5_000_000_000_000_000_000L;
    boolean mainRulesetHooked = true;
    @Nullable String narrowedHook;
    final Map<String, Anchor> anchors = new TreeMap<>();

    /** Per anchor, per filter rule (in {@code -s rules} order): packets and bytes pf counted. */
    final Map<String, Map<Integer, long[]>> counted = new TreeMap<>();

    final Set<Connection> connections = new LinkedHashSet<>();
    int killsThatMiss;
    final List<Call> calls = new ArrayList<>();
    final List<Call> refused = new ArrayList<>();
    final List<Fault> faults = new ArrayList<>();
  }

  private Model model;

  /** A pf as macOS boots it: disabled, main ruleset with the com.apple hook, no anchors. */
  public FakePfctl() {
    this.model = new Model();
  }

  private FakePfctl(Model model) {
    this.model = model;
  }

  // ---------------------------------------------------------------- driving it

  /**
   * Runs one pfctl invocation against the model.
   *
   * @param argv the command line; everything up to and including the element naming pfctl (a sudo
   *     prefix, the program path) is skipped, or just the first element when none does
   * @param stdin standard input
   */
  public Result execute(List<String> argv, String stdin) {
    Fault fault;
    Call call;
    synchronized (this) {
      call = new Call(options(argv), stdin);
      model.calls.add(call);
      fault = takeFault(call);
      if (fault == null || fault.hangMillis() == 0) {
        return fault == null ? apply(call) : failure(fault);
      }
    }
    try {
      Thread.sleep(fault.hangMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(137, "", "killed\n");
    }
    synchronized (this) {
      return fault.exitCode() != 0 ? failure(fault) : apply(call);
    }
  }

  /** {@link #execute} behind the process seam; the timeout is not enforced in process. */
  @Override
  public ProcessResult run(Command command) {
    Result result = execute(command.argv(), command.stdin());
    return new ProcessResult(result.exitCode(), result.stdout(), result.stderr());
  }

  private static List<String> options(List<String> argv) {
    for (int i = argv.size() - 1; i >= 0; i--) {
      if (argv.get(i).equals("pfctl") || argv.get(i).endsWith("/pfctl")) {
        return argv.subList(i + 1, argv.size());
      }
    }
    return argv.isEmpty() ? argv : argv.subList(1, argv.size());
  }

  private @Nullable Fault takeFault(Call call) {
    for (int i = 0; i < model.faults.size(); i++) {
      Fault fault = model.faults.get(i);
      if (call.line().contains(fault.match())) {
        if (fault.remaining() == 1) {
          model.faults.remove(i);
        } else if (fault.remaining() > 1) {
          model.faults.set(
              i,
              new Fault(
                  fault.match(),
                  fault.exitCode(),
                  fault.stderr(),
                  fault.hangMillis(),
                  fault.remaining() - 1));
        }
        return fault;
      }
    }
    return null;
  }

  private static Result failure(Fault fault) {
    return new Result(fault.exitCode(), "", ALTQ_NOISE + fault.stderr());
  }

  // ---------------------------------------------------------------- fault injection

  /**
   * Makes the next {@code times} calls whose option line contains {@code match} (for example {@code
   * "-f -"}, {@code "-k"}, {@code "-a com.apple/000.egress/c1 -F all"}) fail without effect, with
   * {@code exitCode} and {@code stderr}; {@code times} 0 means every such call from now on.
   */
  public synchronized FakePfctl failOn(String match, int times, int exitCode, String stderr) {
    if (exitCode == 0 || times < 0) {
      throw new IllegalArgumentException("a failure needs a non-zero exit code and times >= 0");
    }
    model.faults.add(
        new Fault(
            match,
            exitCode,
            stderr.endsWith("\n") ? stderr : stderr + "\n",
            0,
            times == 0 ? -1 : times));
    return this;
  }

  /**
   * Makes the next {@code times} matching calls (0: all) hang for {@code duration} before they take
   * effect; in the executable the wait is a child process, so a runner must kill the whole process
   * tree.
   */
  public synchronized FakePfctl hangOn(String match, int times, Duration duration) {
    model.faults.add(
        new Fault(match, 0, "", Math.max(1, duration.toMillis()), times == 0 ? -1 : times));
    return this;
  }

  /** Removes every pending fault. */
  public synchronized FakePfctl clearFaults() {
    model.faults.clear();
    return this;
  }

  /** Someone else emptied {@code anchor} (it stays listed, as after {@code -F all}). */
  public synchronized FakePfctl wipeAnchor(String anchor) {
    if (model.anchors.containsKey(anchor)) {
      model.anchors.put(anchor, Anchor.EMPTY);
      model.counted.remove(anchor);
    }
    return this;
  }

  /** Someone reloaded the main ruleset without {@code anchor "com.apple/*"}. */
  public synchronized FakePfctl unhookMainRuleset() {
    model.mainRulesetHooked = false;
    return this;
  }

  /**
   * Someone reloaded the main ruleset with {@code line} (such as {@code anchor "com.apple/*" in on
   * lo0 all}) in place of {@code anchor "com.apple/*" all}: the anchors below {@code com.apple} are
   * evaluated for some packets only, which the fake's verdicts treat as not at all.
   */
  public synchronized FakePfctl narrowMainRulesetHook(String line) {
    model.mainRulesetHooked = false;
    model.narrowedHook = Objects.requireNonNull(line, "line");
    return this;
  }

  /** Someone ran {@code pfctl -d}: pf is off and every enable reference is gone. */
  public synchronized FakePfctl disableByOthers() {
    model.enabledByOthers = false;
    model.tokens.clear();
    return this;
  }

  /** Someone else enabled pf (with {@code -e} or a token of their own). */
  public synchronized FakePfctl enableByOthers() {
    model.enabledByOthers = true;
    return this;
  }

  /**
   * pf counted {@code packets} packets of {@code bytes} bytes on the {@code index}-th filter rule
   * of {@code anchor} (in the order {@code -s rules} lists them), as it does for the packets a rule
   * blocks or the states it created pass; {@code -v -s rules} prints the sums. A load or flush of
   * the anchor starts them again, as in pf.
   *
   * @throws IllegalArgumentException if the anchor has no such rule
   */
  public synchronized FakePfctl count(String anchor, int index, long packets, long bytes) {
    List<String> filterRules =
        filterRules(model.anchors.getOrDefault(anchor, Anchor.EMPTY)).toList();
    if (index < 0 || index >= filterRules.size()) {
      throw new IllegalArgumentException(
          "anchor " + anchor + " has " + filterRules.size() + " filter rules, not rule " + index);
    }
    long[] sums =
        model
            .counted
            .computeIfAbsent(anchor, a -> new TreeMap<>())
            .computeIfAbsent(index, i -> new long[2]);
    sums[0] += packets;
    sums[1] += bytes;
    return this;
  }

  /** The rules {@code -s rules} lists: translation rules left out. */
  private static java.util.stream.Stream<String> filterRules(Anchor anchor) {
    return anchor.rules().stream()
        .filter(rule -> !TRANSLATION_KEYWORDS.contains(rule.split(" ", 2)[0]));
  }

  /** The machine rebooted: anchors, tables, states and tokens are gone, pf is disabled. */
  public synchronized FakePfctl reboot() {
    Model fresh = new Model();
    fresh.calls.addAll(model.calls);
    fresh.refused.addAll(model.refused);
    fresh.nextToken = model.nextToken;
    model = fresh;
    return this;
  }

  /** A connection is open (pf tracks its state) from {@code source} to {@code destination}. */
  public synchronized FakePfctl openConnection(InetAddress source, InetAddress destination) {
    model.connections.add(new Connection(source, destination));
    return this;
  }

  /**
   * A container's connection through NAT is open: pf keeps two states, one created inbound on the
   * bridge and one on {@code en0} whose source is translated to {@code translated} (the host's
   * address); both carry the container's address as their source ({@code lan}).
   */
  public synchronized FakePfctl openNatConnection(
      InetAddress source, InetAddress translated, InetAddress destination) {
    model.connections.add(new Connection(source, destination));
    model.connections.add(new Connection(source, destination, translated));
    return this;
  }

  /**
   * The next {@code times} state kills succeed but kill nothing, as a kill in the wrong direction
   * does ({@code killed 0 states}), or as a state another rule re-created at once would look.
   */
  public synchronized FakePfctl killsMiss(int times) {
    model.killsThatMiss = times;
    return this;
  }

  // ---------------------------------------------------------------- reading the model

  public synchronized boolean isEnabled() {
    return model.enabledByOthers || !model.tokens.isEmpty();
  }

  /** The enable references held now. */
  public synchronized Set<Long> tokens() {
    return Set.copyOf(model.tokens);
  }

  public synchronized boolean isMainRulesetHooked() {
    return model.mainRulesetHooked;
  }

  /** Every anchor pf knows, by path, emptied ones included. */
  public synchronized Map<String, Anchor> anchors() {
    return java.util.Collections.unmodifiableMap(new TreeMap<>(model.anchors));
  }

  /** The anchor at {@code path}, if pf knows it. */
  public synchronized Optional<Anchor> anchor(String path) {
    return Optional.ofNullable(model.anchors.get(path));
  }

  /** The tracked connections. */
  public synchronized Set<Connection> connections() {
    return Set.copyOf(model.connections);
  }

  /** Every call so far, in order. */
  public synchronized List<Call> calls() {
    return List.copyOf(model.calls);
  }

  /** Calls refused as dangerous or not understood; a correct enforcer makes none. */
  public synchronized List<Call> refusedCalls() {
    return List.copyOf(model.refused);
  }

  /** Forgets the recorded calls (not the refused ones), to count from here. */
  public synchronized FakePfctl clearCalls() {
    model.calls.clear();
    return this;
  }

  // ---------------------------------------------------------------- packets

  /**
   * What pf would now do with {@code packet}, given everything loaded: pf disabled, or the main
   * ruleset without {@code anchor "com.apple/*"}, or a parent anchor that is not a direct child of
   * {@code com.apple}, passes everything; otherwise {@link PfEvaluator} decides over the parent
   * anchor at {@code parentAnchor} and its non-empty children, with their current tables.
   *
   * @throws IllegalArgumentException if a loaded ruleset is outside what the evaluator understands
   */
  public PfVerdict verdict(String parentAnchor, PfPacket packet) {
    return packetFilter(parentAnchor).apply(packet);
  }

  /**
   * A snapshot of {@link #verdict} for many packets: the loaded rulesets are parsed once, and later
   * changes to the fake do not affect it.
   */
  public synchronized java.util.function.Function<PfPacket, PfVerdict> packetFilter(
      String parentAnchor) {
    Optional<PfEvaluator> evaluator = evaluator(parentAnchor);
    return evaluator.isEmpty() ? packet -> PfVerdict.PASS : evaluator.get()::verdict;
  }

  /**
   * Whether {@code packet} reaches its destination: pf passes it ({@link #verdict}) and no {@code
   * rdr} sends it elsewhere (a container's DNS redirected to a filter reaches the filter, not the
   * resolver it was sent to).
   */
  public synchronized boolean delivers(String parentAnchor, PfPacket packet) {
    Optional<PfEvaluator> evaluator = evaluator(parentAnchor);
    return evaluator.isEmpty()
        || evaluator.get().verdict(packet) == PfVerdict.PASS
            && evaluator.get().translate(packet).equals(packet);
  }

  /** The evaluator of what is loaded now; empty when pf evaluates none of it (it passes all). */
  private Optional<PfEvaluator> evaluator(String parentAnchor) {
    boolean reached =
        parentAnchor.startsWith("com.apple/")
            && parentAnchor.indexOf('/', "com.apple/".length()) < 0;
    Anchor parent = model.anchors.get(parentAnchor);
    if (!isEnabled() || !model.mainRulesetHooked || !reached || parent == null) {
      return Optional.empty();
    }
    Map<String, String> children = new TreeMap<>();
    String prefix = parentAnchor + "/";
    model.anchors.forEach(
        (path, anchor) -> {
          if (path.startsWith(prefix)
              && path.indexOf('/', prefix.length()) < 0
              && !anchor.isEmpty()) {
            children.put(path.substring(prefix.length()), text(anchor));
          }
        });
    return Optional.of(PfEvaluator.of(text(parent), children));
  }

  /** An anchor as an anchor file: its tables, then its rules. */
  private static String text(Anchor anchor) {
    StringBuilder out = new StringBuilder();
    anchor
        .tables()
        .forEach(
            (name, entries) -> {
              out.append("table <").append(name).append("> persist");
              if (!entries.isEmpty()) {
                out.append(" { ").append(String.join(", ", entries)).append(" }");
              }
              out.append('\n');
            });
    anchor.rules().forEach(rule -> out.append(rule).append('\n'));
    return out.toString();
  }

  // ---------------------------------------------------------------- pfctl semantics

  private Result apply(Call call) {
    List<String> args = call.args();
    String anchor = null;
    String file = null;
    String flush = null;
    String table = null;
    String tableCommand = null;
    String show = null;
    String release = null;
    boolean enable = false;
    boolean verbose = false;
    List<String> kills = new ArrayList<>();
    List<String> tableAddresses = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String option = args.get(i);
      if (("add".equals(tableCommand) || "delete".equals(tableCommand))
          && !option.startsWith("-")) {
        // pfctl -T add|delete takes the addresses that follow as operands.
        tableAddresses.add(option);
        continue;
      }
      boolean hasValue = i + 1 < args.size();
      switch (option) {
        case "-E" -> enable = true;
        case "-v" -> verbose = true;
        case "-a", "-f", "-F", "-t", "-T", "-s", "-X", "-k" -> {
          if (!hasValue) {
            return refuse(call, "option " + option + " requires an argument");
          }
          String value = args.get(++i);
          switch (option) {
            case "-a" -> anchor = value;
            case "-f" -> file = value;
            case "-F" -> flush = value;
            case "-t" -> table = value;
            case "-T" -> tableCommand = value;
            case "-s" -> show = value;
            case "-X" -> release = value;
            default -> kills.add(value);
          }
        }
        default -> {
          return refuse(call, "option " + option + " is not one egress-pf may use");
        }
      }
    }
    if (anchor != null && (anchor.isEmpty() || anchor.contains("*"))) {
      return refuse(call, "anchor '" + anchor + "' is not a single anchor");
    }
    if (enable && args.size() == 1) {
      long token = model.nextToken++;
      model.tokens.add(token);
      return ok("", "pf enabled\nToken : " + token + "\n");
    }
    if (release != null && args.size() == 2) {
      return releaseToken(release);
    }
    if (verbose) {
      if (show == null || !show.equals("rules") || anchor == null || args.size() != 5) {
        return refuse(call, "-v is only used as '-a ANCHOR -v -s rules'");
      }
      return ok(rulesWithStatistics(anchor), "");
    }
    if (show != null && args.size() == (anchor == null ? 2 : 4)) {
      return show(call, show, anchor);
    }
    if (tableCommand != null) {
      if (anchor == null || table == null) {
        return refuse(call, "-T without -a and -t would touch the main ruleset's tables");
      }
      return tableCommand(call, anchor, table, tableCommand, file, tableAddresses);
    }
    if (flush != null) {
      if (anchor == null || !flush.equals("all") || args.size() != 4) {
        return refuse(call, "-F must be '-a ANCHOR -F all': anything else flushes host-wide state");
      }
      if (model.anchors.containsKey(anchor)) {
        model.anchors.put(anchor, Anchor.EMPTY);
        model.counted.remove(anchor);
      }
      return ok("", "rules cleared\nnat cleared\n0 tables deleted.\n");
    }
    if (file != null) {
      if (anchor == null || !file.equals("-") || args.size() != 4) {
        return refuse(
            call,
            "-f must be '-a ANCHOR -f -': loading the main ruleset or a file is" + " forbidden");
      }
      if (anchor.length() >= PF_ANCHOR_NAME_SIZE) {
        return new Result(1, "", ALTQ_NOISE + "pfctl: pfctl_add_rule: strlcpy\n");
      }
      return load(anchor, call.stdin());
    }
    if (!kills.isEmpty() && kills.size() <= 2 && args.size() == 2 * kills.size()) {
      return kill(call, kills);
    }
    return refuse(call, "this combination of options is not one egress-pf may use");
  }

  private Result refuse(Call call, String why) {
    model.refused.add(call);
    return new Result(
        1, "", ALTQ_NOISE + "fake pfctl refuses '" + call.line() + "': " + why + "\n");
  }

  private static Result ok(String stdout, String stderr) {
    return new Result(0, stdout, ALTQ_NOISE + stderr);
  }

  private Result releaseToken(String text) {
    long token;
    try {
      token = Long.parseLong(text);
    } catch (NumberFormatException e) {
      return new Result(1, "", ALTQ_NOISE + "pfctl: illegal token '" + text + "'\n");
    }
    if (!model.tokens.remove(token)) {
      return new Result(1, "", ALTQ_NOISE + "pfctl: DIOCSTOPREF: No such process\n");
    }
    return ok("", isEnabled() ? "" : "pf disabled\n");
  }

  /**
   * {@code -a ANCHOR -v -s rules} as pfctl(8) prints it: each filter rule, then its statistics and
   * insertion lines ({@code [ Evaluations: N Packets: N Bytes: N States: N ]}, {@code [ Inserted:
   * uid U pid P State Creations: N ]}). Evaluations count as packets (the fake does not see the
   * packets a rule was evaluated for and did not match), and states as zero.
   */
  private String rulesWithStatistics(String anchor) {
    List<String> rules = filterRules(model.anchors.getOrDefault(anchor, Anchor.EMPTY)).toList();
    Map<Integer, long[]> counted = model.counted.getOrDefault(anchor, Map.of());
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < rules.size(); i++) {
      long[] sums = counted.getOrDefault(i, new long[2]);
      out.append(rules.get(i)).append('\n');
      out.append(
          String.format(
              "  [ Evaluations: %-8d Packets: %-8d  Bytes: %-10d  States: %-6d]\n",
              sums[0], sums[0], sums[1], 0));
      out.append("  [ Inserted: uid 0 pid 4242 State Creations: 0     ]\n");
    }
    return out.toString();
  }

  private Result show(Call call, String what, @Nullable String anchor) {
    switch (what) {
      case "info" -> {
        String status = isEnabled() ? "Enabled for 0 days 00:01:02" : "Disabled";
        return ok(
            "Status: "
                + status
                + "              Debug: Urgent\n\n"
                + "State Table                          Total             Rate\n"
                + "  current entries                       "
                + model.connections.size()
                + "\n",
            "");
      }
      case "rules" -> {
        StringBuilder out = new StringBuilder();
        if (anchor == null) {
          out.append(APPLE_SCRUB).append('\n');
          if (model.mainRulesetHooked) {
            out.append(APPLE_ANCHOR).append('\n');
          } else if (model.narrowedHook != null) {
            out.append(model.narrowedHook).append('\n');
          }
        } else {
          Anchor loaded = model.anchors.get(anchor);
          if (loaded != null) {
            filterRules(loaded).forEach(rule -> out.append(rule).append('\n'));
          }
        }
        return ok(out.toString(), "");
      }
      case "state" -> {
        if (anchor != null) {
          return refuse(call, "-s state is host-wide; egress-pf reads it without -a");
        }
        StringBuilder out = new StringBuilder();
        model.connections.forEach(c -> out.append(c.stateLine()).append('\n'));
        return ok(out.toString(), "");
      }
      case "Anchors" -> {
        String prefix = anchor == null ? "" : anchor + "/";
        Set<String> children = new TreeSet<>();
        for (String path : model.anchors.keySet()) {
          if (path.startsWith(prefix)) {
            int end = path.indexOf('/', prefix.length());
            children.add(end < 0 ? path : path.substring(0, end));
          }
        }
        StringBuilder out = new StringBuilder();
        children.forEach(child -> out.append("  ").append(child).append('\n'));
        return ok(out.toString(), "");
      }
      default -> {
        return refuse(call, "-s " + what + " is not read by egress-pf");
      }
    }
  }

  private Result tableCommand(
      Call call,
      String anchor,
      String table,
      String command,
      @Nullable String file,
      List<String> addresses) {
    Anchor loaded = model.anchors.getOrDefault(anchor, Anchor.EMPTY);
    if (!addresses.isEmpty() && !command.equals("add") && !command.equals("delete")) {
      return refuse(call, "-T " + command + " takes no addresses");
    }
    switch (command) {
      case "add", "delete" -> {
        if (file != null || addresses.isEmpty()) {
          return refuse(call, "-T " + command + " takes its addresses as operands, one or more");
        }
        Set<String> change = new LinkedHashSet<>();
        for (String address : addresses) {
          try {
            IpNetwork parsed = IpNetwork.parse(address);
            if (!parsed.isSingleHost()) {
              return refuse(call, "-T " + command + " of a network: egress-pf grants addresses");
            }
            change.add(entryText(parsed));
          } catch (IllegalArgumentException e) {
            // pfctl would resolve a host name, as root: egress-pf never names one.
            return refuse(call, "'" + address + "' is not an address literal");
          }
        }
        Set<String> before = loaded.tables().get(table);
        if (before == null && command.equals("delete")) {
          return new Result(1, "", ALTQ_NOISE + "pfctl: Table does not exist.\n");
        }
        Set<String> entries = new LinkedHashSet<>(before == null ? Set.of() : before);
        long changed =
            change.stream()
                .filter(e -> command.equals("add") ? entries.add(e) : entries.remove(e))
                .count();
        Map<String, Set<String>> tables = new TreeMap<>(loaded.tables());
        tables.put(table, entries);
        model.anchors.put(anchor, new Anchor(loaded.rules(), tables));
        return ok(
            "",
            (before == null ? "1 table created.\n" : "")
                + changed
                + "/"
                + change.size()
                + " addresses "
                + (command.equals("add") ? "added" : "deleted")
                + ".\n");
      }
      case "show" -> {
        Set<String> entries = loaded.tables().get(table);
        if (entries == null || file != null) {
          return new Result(1, "", ALTQ_NOISE + "pfctl: Table does not exist.\n");
        }
        StringBuilder out = new StringBuilder();
        entries.forEach(e -> out.append("   ").append(e).append('\n'));
        return ok(out.toString(), "");
      }
      case "replace" -> {
        if (!"-".equals(file)) {
          return refuse(call, "-T replace reads its entries from standard input");
        }
        Set<String> entries = new LinkedHashSet<>();
        String[] lines = call.stdin().split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
          String line = lines[i].strip();
          if (line.isEmpty() || line.startsWith("#")) {
            continue;
          }
          try {
            entries.add(entryText(IpNetwork.parse(line)));
          } catch (IllegalArgumentException e) {
            return new Result(1, "", ALTQ_NOISE + "stdin:" + (i + 1) + ": syntax error\n");
          }
        }
        Set<String> before = loaded.tables().getOrDefault(table, Set.of());
        boolean created = !loaded.tables().containsKey(table);
        Map<String, Set<String>> tables = new TreeMap<>(loaded.tables());
        tables.put(table, entries);
        model.anchors.put(anchor, new Anchor(loaded.rules(), tables));
        long added = entries.stream().filter(e -> !before.contains(e)).count();
        long deleted = before.stream().filter(e -> !entries.contains(e)).count();
        String report =
            (created ? "1 table created.\n" : "")
                + (added == 0 && deleted == 0
                    ? "no changes.\n"
                    : (added > 0 ? added + " addresses added.\n" : "")
                        + (deleted > 0 ? deleted + " addresses deleted.\n" : ""));
        return ok("", report);
      }
      default -> {
        return refuse(call, "-T " + command + " is not used by egress-pf");
      }
    }
  }

  private static String entryText(IpNetwork network) {
    return network.isSingleHost() ? IpAddresses.format(network.address()) : network.toString();
  }

  /** Parses an anchor file as pfctl would: all or nothing. */
  private Result load(String anchor, String text) {
    List<String> rules = new ArrayList<>();
    Map<String, Set<String>> tables = new LinkedHashMap<>();
    String[] lines = text.split("\n", -1);
    int i = 0;
    while (i < lines.length) {
      int firstLine = i + 1;
      StringBuilder logical = new StringBuilder(stripComment(lines[i]));
      i++;
      while (i < lines.length && (logical.toString().endsWith("\\") || depth(logical) > 0)) {
        if (logical.toString().endsWith("\\")) {
          logical.setLength(logical.length() - 1);
        }
        logical.append(' ').append(stripComment(lines[i]));
        i++;
      }
      String statement = logical.toString().strip().replaceAll("\\s+", " ");
      if (statement.isEmpty()) {
        continue;
      }
      String keyword = statement.split(" ", 2)[0];
      if (!RULE_KEYWORDS.contains(keyword) || depth(logical) != 0) {
        return syntaxError(firstLine);
      }
      if (keyword.equals("table")) {
        Matcher matcher = TABLE_DEFINITION.matcher(statement);
        if (!matcher.matches()) {
          return syntaxError(firstLine);
        }
        Set<String> entries = new LinkedHashSet<>();
        String list = matcher.group(3);
        if (list != null) {
          for (String item : list.split("[,\\s]+")) {
            if (item.isEmpty()) {
              continue;
            }
            try {
              entries.add(entryText(IpNetwork.parse(item)));
            } catch (IllegalArgumentException e) {
              return syntaxError(firstLine);
            }
          }
        }
        tables.put(matcher.group(1), entries);
      } else if (!keyword.equals("set")) { // pf ignores options in an anchor
        rules.add(statement);
      }
    }
    model.anchors.put(anchor, new Anchor(rules, tables));
    // pf keeps a rule's statistics with the rule: a load starts them again.
    model.counted.remove(anchor);
    return ok("", LOAD_WARNING);
  }

  private static String stripComment(String line) {
    int hash = line.indexOf('#');
    return hash < 0 ? line : line.substring(0, hash);
  }

  private static int depth(CharSequence text) {
    int depth = 0;
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) == '{') {
        depth++;
      } else if (text.charAt(i) == '}') {
        depth--;
      }
    }
    return depth;
  }

  private static Result syntaxError(int line) {
    return new Result(1, "", ALTQ_NOISE + "stdin:" + line + ": syntax error\n");
  }

  private Result kill(Call call, List<String> hosts) {
    List<IpNetwork> networks = new ArrayList<>();
    for (String host : hosts) {
      try {
        networks.add(IpNetwork.parse(host));
      } catch (IllegalArgumentException e) {
        return refuse(call, "-k " + host + " is not an address or network");
      }
    }
    int killed = 0;
    Set<InetAddress> sources = new HashSet<>();
    if (model.killsThatMiss > 0) {
      model.killsThatMiss--;
      return ok("", "killed 0 states from 0 sources and 0 destinations\n");
    }
    for (Iterator<Connection> it = model.connections.iterator(); it.hasNext(); ) {
      Connection connection = it.next();
      if (networks.get(0).contains(connection.source())
          && (networks.size() == 1 || networks.get(1).contains(connection.destination()))) {
        it.remove();
        killed++;
        sources.add(connection.source());
      }
    }
    return ok(
        "",
        "killed "
            + killed
            + " states from "
            + sources.size()
            + " sources and 0"
            + " destinations\n");
  }

  // ---------------------------------------------------------------- the executable

  /** Saves the whole state (model, faults, recorded calls) to {@code file}. */
  public synchronized void writeTo(Path file) throws IOException {
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    try (ObjectOutputStream out = new ObjectOutputStream(Files.newOutputStream(temporary))) {
      out.writeObject(model);
    }
    Files.move(
        temporary,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** The fake whose state {@link #writeTo} or the executable saved in {@code file}. */
  public static FakePfctl readFrom(Path file) throws IOException {
    try (ObjectInputStream in = new ObjectInputStream(Files.newInputStream(file))) {
      return new FakePfctl((Model) in.readObject());
    } catch (ClassNotFoundException e) {
      throw new IOException("not a fake pfctl state file: " + file, e);
    }
  }

  /**
   * Writes {@code dir/pfctl}, a shell script that runs this fake with its state in {@code
   * dir/pfctl.state} (created empty, as a freshly booted Mac, unless present), on this JVM and
   * class path. Each invocation also appends its process id (and that of any child it waits for) to
   * {@code dir/pfctl.pids}, so a test can check that none is left running.
   *
   * @return the script's path
   */
  public static Path installExecutable(Path dir) throws IOException {
    Path state = dir.resolve("pfctl.state");
    if (!Files.exists(state)) {
      new FakePfctl().writeTo(state);
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String script =
        "#!/bin/sh\nexec "
            + quote(java)
            + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -XX:-UsePerfData -cp "
            + quote(System.getProperty("java.class.path"))
            + " "
            + FakePfctl.class.getName()
            + " "
            + quote(state.toString())
            + " \"$@\"\n";
    Path executable = dir.resolve("pfctl");
    Files.writeString(executable, script);
    Files.setPosixFilePermissions(executable, PosixFilePermissions.fromString("rwxr-xr-x"));
    return executable;
  }

  private static String quote(String text) {
    return "'" + text.replace("'", "'\\''") + "'";
  }

  /**
   * Runs {@code action} on the fake whose state the executable keeps in {@code stateFile}, under
   * the lock its invocations take, and saves what the action changed: for other fakes (such as the
   * container CLI's) whose packets this pf decides, and whose connections it tracks.
   */
  public static <T> T withStateFile(
      Path stateFile, java.util.function.Function<FakePfctl, T> action) throws IOException {
    try (FileChannel channel =
            FileChannel.open(
                stateFile.resolveSibling("pfctl.lock"),
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock = channel.lock()) {
      FakePfctl fake = readFrom(stateFile);
      T result;
      synchronized (fake) {
        result = action.apply(fake);
      }
      fake.writeTo(stateFile);
      return result;
    }
  }

  /** One invocation's first step: a fault that makes it hang first, or its result. */
  private record Step(@Nullable Fault hang, @Nullable Result result) {}

  /**
   * The executable's entry point: {@code FakePfctl STATE_FILE PFCTL_OPTIONS...}. Prints what pfctl
   * would and exits with its status.
   */
  public static void main(String[] args) throws IOException, InterruptedException {
    Path state = Path.of(args[0]);
    List<String> options = List.of(args).subList(1, args.length);
    String stdin = options.contains("-f") ? readAll(System.in) : "";
    Path pids = state.resolveSibling("pfctl.pids");
    Files.writeString(
        pids,
        ProcessHandle.current().pid() + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    Call call = new Call(options, stdin);
    Step step =
        withStateFile(
            state,
            fake -> {
              fake.model.calls.add(call);
              Fault fault = fake.takeFault(call);
              if (fault != null && fault.hangMillis() > 0) {
                return new Step(fault, null);
              }
              return new Step(null, fault == null ? fake.apply(call) : failure(fault));
            });
    Result result = step.result();
    Fault hang = step.hang();
    if (hang != null) {
      // Wait in a child so that only killing the whole process tree ends the hang cleanly.
      Process sleeper =
          new ProcessBuilder("sleep", Long.toString((hang.hangMillis() + 999) / 1000))
              .inheritIO()
              .start();
      Files.writeString(
          pids, sleeper.pid() + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
      sleeper.waitFor();
      result =
          hang.exitCode() != 0 ? failure(hang) : withStateFile(state, fake -> fake.apply(call));
    }
    Objects.requireNonNull(result, "result");
    print(System.out, result.stdout());
    print(System.err, result.stderr());
    System.exit(result.exitCode());
  }

  private static String readAll(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }

  private static void print(OutputStream stream, String text) {
    PrintStream out = new PrintStream(stream, false, StandardCharsets.UTF_8);
    out.print(text);
    out.flush();
    if (out.checkError()) {
      throw new UncheckedIOException(new IOException("could not write the fake pfctl's output"));
    }
  }
}
