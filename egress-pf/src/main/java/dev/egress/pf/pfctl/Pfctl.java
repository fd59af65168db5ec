package dev.egress.pf.pfctl;

import dev.egress.enforcer.TrafficCounters;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.ProcessTimeoutException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pfctl operations the library runs, and no other. Each method is one pfctl process; rules and
 * table contents go through standard input.
 *
 * <p>What this class cannot do, by construction: disable pf ({@code -d}), flush anything without an
 * anchor ({@code -F} always comes with {@code -a} naming a non-empty {@link AnchorPath}), flush
 * states host-wide ({@code -F states}), or load a file ({@code -f} only ever reads standard input,
 * and only together with {@code -a}). The main ruleset and /etc/pf.conf are read at most.
 *
 * <p>Thread-safe; every method blocks for one pfctl process, at most for the timeout. Exit status
 * decides success; pfctl's normal chatter on standard error is dropped, and real errors become
 * {@link PfctlException}s with a hint: {@link SudoPasswordRequiredException}, {@link
 * PfPermissionDeniedException}, {@link PfSyntaxException}, {@link PfBusyException}, {@link
 * PfctlTimeoutException}.
 */
public final class Pfctl {
  /** How the library runs pfctl unless told otherwise: as root through sudo, never prompting. */
  public static final List<String> DEFAULT_COMMAND = List.of("sudo", "-n", "/sbin/pfctl");

  /**
   * The last line of every text this class loads ({@link #loadAnchor}, {@link #replaceTable}): a pf
   * comment, so pfctl ignores it, that the sudo wrapper requires. A text cut short (its writer died
   * mid-stream) lacks it, and the wrapper then loads nothing rather than the prefix that pfctl
   * would commit.
   */
  public static final String END_OF_LOAD = "# egress-pf: end of load";

  /**
   * The largest text one load may carry, end line included: 16 MiB, more than pf's default limit of
   * 200,000 table entries takes. Larger loads are refused here, and by the sudo wrapper, which
   * stores a load in a root-owned file before checking it.
   */
  public static final int MAX_LOAD_BYTES = 16 * 1024 * 1024;

  /**
   * The most addresses one {@link #addToTable} or {@link #deleteFromTable} call names on pfctl's
   * command line; the sudo wrapper refuses more. Far more than one DNS answer holds.
   */
  public static final int MAX_TABLE_ADDRESSES = 256;

  private static final Logger LOG = LoggerFactory.getLogger(Pfctl.class);
  private static final Pattern SYNTAX_ERROR =
      Pattern.compile("^(?:pfctl: )?(?:stdin|-):(\\d+): (.+)$");

  private final ProcessRunner runner;
  private final List<String> command;
  private final Duration timeout;

  /**
   * @param runner runs the pfctl processes
   * @param command the command that runs pfctl, before its options (for example {@link
   *     #DEFAULT_COMMAND}); not empty
   * @param timeout how long one pfctl call may take before it is killed; positive
   */
  public Pfctl(ProcessRunner runner, List<String> command, Duration timeout) {
    this.runner = Objects.requireNonNull(runner, "runner");
    this.command = List.copyOf(command);
    if (this.command.isEmpty()) {
      throw new IllegalArgumentException("the pfctl command is empty");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("the pfctl timeout must be positive, got " + timeout);
    }
    this.timeout = timeout;
  }

  /** {@code pfctl -s info}: whether pf is enabled. */
  public boolean isEnabled() throws PfctlException {
    List<String> args = List.of("-s", "info");
    String out = run(args, "").stdout();
    try {
      return PfctlOutput.infoSaysEnabled(out);
    } catch (IllegalArgumentException e) {
      throw new PfctlException(describe(args), String.valueOf(e.getMessage()), "", e);
    }
  }

  /**
   * {@code pfctl -E}: enables pf if needed and takes a reference on it, which keeps it enabled
   * until root releases it ({@code pfctl -X}). Tokens outlive the process that took them. The
   * driver has no release: releasing the last reference switches pf off, and every anchor with it.
   *
   * @return the token pfctl printed
   */
  public long enable() throws PfctlException {
    List<String> args = List.of("-E");
    ProcessResult result = run(args, "");
    OptionalLong token = PfctlOutput.enableToken(result.stderr() + "\n" + result.stdout());
    if (token.isEmpty()) {
      throw new PfctlException(
          describe(args), "pfctl -E printed no 'Token : N' line", "check the pfctl version", null);
    }
    return token.getAsLong();
  }

  /** {@code pfctl -s rules}: the main ruleset, read only. */
  public List<String> mainRules() throws PfctlException {
    return PfctlOutput.rules(run(List.of("-s", "rules"), "").stdout());
  }

  /** {@code pfctl -a A -s rules}: the filter rules loaded in {@code anchor}. */
  public List<String> rules(AnchorPath anchor) throws PfctlException {
    return PfctlOutput.rules(run(List.of("-a", anchor.value(), "-s", "rules"), "").stdout());
  }

  /**
   * {@code pfctl -a A -v -s rules}: the filter rules of {@code anchor} with pf's statistics, summed
   * by {@link PfctlOutput#ruleCounters}; empty when the anchor holds no rules. Read only.
   *
   * @throws PfctlException if pfctl fails or prints rules without their statistics
   */
  public Optional<TrafficCounters> ruleCounters(AnchorPath anchor) throws PfctlException {
    List<String> args = List.of("-a", anchor.value(), "-v", "-s", "rules");
    String output = run(args, "").stdout();
    try {
      return PfctlOutput.ruleCounters(output);
    } catch (IllegalArgumentException e) {
      throw new PfctlException(
          describe(args),
          String.valueOf(e.getMessage()),
          "this pfctl does not print rule statistics with -v; compare 'pfctl -a "
              + anchor.value()
              + " -v -s rules' with pfctl(8)",
          e);
    }
  }

  /**
   * {@code pfctl -a P -s Anchors}: the anchors under {@code parent}, as pfctl prints their full
   * paths (see {@link AnchorPath#childName} for the ones that are container anchors).
   */
  public List<String> anchors(AnchorPath parent) throws PfctlException {
    return PfctlOutput.anchors(run(List.of("-a", parent.value(), "-s", "Anchors"), "").stdout());
  }

  /** {@code pfctl -a A -t T -T show}: the entries of a table of {@code anchor}. */
  public List<String> table(AnchorPath anchor, TableName table) throws PfctlException {
    return PfctlOutput.tableEntries(
        run(List.of("-a", anchor.value(), "-t", table.value(), "-T", "show"), "").stdout());
  }

  /**
   * {@code pfctl -a A -f -}: replaces the rules and tables of {@code anchor} with {@code rules},
   * atomically: pfctl commits the whole text it reads or nothing. The text goes out followed by
   * {@link #END_OF_LOAD}.
   *
   * @param rules whole lines, each ended by a newline
   * @throws PfSyntaxException quoting the offending line of {@code rules}
   * @throws PfctlException without running pfctl if the text exceeds {@link #MAX_LOAD_BYTES}
   */
  public void loadAnchor(AnchorPath anchor, String rules) throws PfctlException {
    load(List.of("-a", anchor.value(), "-f", "-"), rules);
  }

  /** {@code pfctl -a A -F all}: empties {@code anchor} (rules and tables; it stays listed). */
  public void flushAnchor(AnchorPath anchor) throws PfctlException {
    run(List.of("-a", anchor.value(), "-F", "all"), "");
  }

  /**
   * {@code pfctl -a A -t T -T replace -f -}: sets the table's entries to exactly {@code entries},
   * without touching rules or states. The entries go out one per line, followed by {@link
   * #END_OF_LOAD}.
   *
   * @throws PfctlException without running pfctl if the text exceeds {@link #MAX_LOAD_BYTES}
   */
  public void replaceTable(AnchorPath anchor, TableName table, Collection<IpNetwork> entries)
      throws PfctlException {
    String contents =
        entries.stream()
            .map(Pfctl::entry)
            .collect(Collectors.joining("\n", "", entries.isEmpty() ? "" : "\n"));
    load(List.of("-a", anchor.value(), "-t", table.value(), "-T", "replace", "-f", "-"), contents);
  }

  /**
   * {@code pfctl -a A -t T -T add ADDRESS...}: adds {@code addresses} to the table (pfctl creates
   * it if missing), without touching its other entries, rules or states. Adding an address already
   * there changes nothing. pf tables have no per-entry expiry: whoever adds an entry for a while
   * removes it with {@link #deleteFromTable}.
   *
   * @throws IllegalArgumentException if {@code addresses} is empty or holds more than {@link
   *     #MAX_TABLE_ADDRESSES}
   */
  public void addToTable(AnchorPath anchor, TableName table, Collection<InetAddress> addresses)
      throws PfctlException {
    changeTable(anchor, table, "add", addresses);
  }

  /**
   * {@code pfctl -a A -t T -T delete ADDRESS...}: removes {@code addresses} from the table, without
   * touching its other entries, rules or states. Removing an address not there changes nothing.
   *
   * @throws IllegalArgumentException as {@link #addToTable} does
   */
  public void deleteFromTable(AnchorPath anchor, TableName table, Collection<InetAddress> addresses)
      throws PfctlException {
    changeTable(anchor, table, "delete", addresses);
  }

  private void changeTable(
      AnchorPath anchor, TableName table, String command, Collection<InetAddress> addresses)
      throws PfctlException {
    if (addresses.isEmpty() || addresses.size() > MAX_TABLE_ADDRESSES) {
      throw new IllegalArgumentException(
          "-T "
              + command
              + " takes 1 to "
              + MAX_TABLE_ADDRESSES
              + " addresses, got "
              + addresses.size());
    }
    List<String> args =
        new ArrayList<>(List.of("-a", anchor.value(), "-t", table.value(), "-T", command));
    // Sorted and without duplicates, so that the same change is always the same command.
    addresses.stream().map(IpNetwork::host).distinct().sorted().forEach(a -> args.add(entry(a)));
    run(args, "");
  }

  /** {@code pfctl -k ADDRESS}: kills the states of connections opened from {@code address}. */
  public void killStatesFrom(InetAddress address) throws PfctlException {
    run(List.of("-k", IpAddresses.format(address)), "");
  }

  /**
   * {@code pfctl -k 0.0.0.0/0 -k ADDRESS} (or {@code ::/0}): kills the states of connections opened
   * to {@code address}.
   */
  public void killStatesTo(InetAddress address) throws PfctlException {
    String any = IpAddresses.isIpv6(address) ? "::/0" : "0.0.0.0/0";
    run(List.of("-k", any, "-k", IpAddresses.format(address)), "");
  }

  /**
   * {@code pfctl -s state}: the whole state table as pfctl prints it, for {@link
   * PfctlOutput#statesNaming}; read only.
   */
  public String states() throws PfctlException {
    return run(List.of("-s", "state"), "").stdout();
  }

  /**
   * The simple but broad sudoers line: it lets the current user run this pfctl without a password
   * with any arguments, {@code -d} and {@code -F all} included. The least-privilege alternative is
   * the entry and wrapper script that {@code egressctl sudoers} prints.
   */
  public String broadSudoersLine() {
    return System.getProperty("user.name", "USER")
        + " ALL=(root) NOPASSWD: "
        + command.get(command.size() - 1);
  }

  private static String entry(IpNetwork network) {
    return network.isSingleHost() ? IpAddresses.format(network.address()) : network.toString();
  }

  /** Runs a call that reads {@code text} from standard input, followed by the end line. */
  private void load(List<String> args, String text) throws PfctlException {
    if (!text.isEmpty() && !text.endsWith("\n")) {
      throw new IllegalArgumentException("a load is whole lines, each ended by a newline");
    }
    String framed = text + END_OF_LOAD + "\n";
    int bytes = framed.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_LOAD_BYTES) {
      throw new PfctlException(
          describe(args),
          "the text to load has "
              + bytes
              + " bytes, more than the "
              + MAX_LOAD_BYTES
              + " bytes one pfctl load may carry",
          "give the container fewer destinations or host names that resolve to fewer addresses",
          null);
    }
    run(args, framed);
  }

  private String describe(List<String> args) {
    List<String> all = new ArrayList<>(command);
    all.addAll(args);
    return PfctlException.describe(all);
  }

  private ProcessResult run(List<String> args, String stdin) throws PfctlException {
    List<String> all = new ArrayList<>(command);
    all.addAll(args);
    String text = PfctlException.describe(all);
    ProcessResult result;
    try {
      result = runner.run(new Command(all, stdin, timeout));
    } catch (ProcessTimeoutException e) {
      throw new PfctlTimeoutException(text, e);
    } catch (IOException e) {
      throw new PfctlException(
          text,
          "could not run pfctl: " + e.getMessage(),
          "check the configured pfctl command " + command,
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PfctlException(text, "interrupted while pfctl ran", "", e);
    }
    List<String> significant = PfctlOutput.significantStderr(result.stderr());
    if (result.exitCode() == 0) {
      if (!result.stdoutComplete()) {
        throw new PfctlException(
            text,
            "pfctl printed more than the process runner keeps ("
                + result.droppedStdoutBytes()
                + " bytes dropped), so its answer cannot be read",
            "pf holds far more than this library loads: look at it with pfctl by hand",
            null);
      }
      if (!significant.isEmpty()) {
        LOG.debug("{} succeeded and said: {}", text, significant);
      }
      return result;
    }
    throw classify(text, result.exitCode(), significant, stdin);
  }

  private PfctlException classify(String text, int exit, List<String> errors, String stdin) {
    String joined = String.join(" | ", errors);
    for (String line : errors) {
      if (line.startsWith("sudo:")
          && (line.contains("password is required") || line.contains("terminal is required"))) {
        return new SudoPasswordRequiredException(text, broadSudoersLine());
      }
    }
    for (String line : errors) {
      if (line.contains("Permission denied") || line.contains("Operation not permitted")) {
        return new PfPermissionDeniedException(text, line);
      }
    }
    for (String line : errors) {
      Matcher matcher = SYNTAX_ERROR.matcher(line);
      if (matcher.matches()) {
        int number = Integer.parseInt(matcher.group(1));
        String[] lines = stdin.split("\n", -1);
        String offending = number >= 1 && number <= lines.length ? lines[number - 1].strip() : "";
        return new PfSyntaxException(text, number, offending, matcher.group(2));
      }
    }
    for (String line : errors) {
      if (line.startsWith("egressctl-pfctl: refused:")) {
        return new PfctlException(
            text,
            "the sudo wrapper refused the call: " + line,
            "the wrapper lets through only egress-pf's calls, with sources inside the networks and"
                + " bridges it was generated for: if those or the parent anchor changed, install a"
                + " new wrapper and sudoers entry from 'egressctl sudoers' (the same options for"
                + " both)",
            null);
      }
    }
    for (String line : errors) {
      String lower = line.toLowerCase(java.util.Locale.ROOT);
      if (lower.contains("device busy") || lower.contains("resource busy")) {
        return new PfBusyException(text, line);
      }
    }
    return new PfctlException(
        text,
        "pfctl failed with exit status "
            + exit
            + (errors.isEmpty() ? " and no message" : ": " + joined),
        "",
        null);
  }
}
