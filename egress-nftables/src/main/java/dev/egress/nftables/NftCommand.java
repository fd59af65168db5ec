package dev.egress.nftables;

import dev.egress.policy.IpAddresses;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.ProcessStartException;
import dev.egress.process.ProcessTimeoutException;
import dev.egress.process.SystemProcessRunner;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Runs {@code nft} and {@code conntrack} through a {@link ProcessRunner}, and classifies failures
 * into {@link NftException.Kind}s with hints. A call that outlives the timeout is killed with every
 * process it started ({@code sudo} and the {@code nft} it runs included) before it is reported.
 *
 * <p>A script is one atomic transaction, and reaches {@code nft} whole before {@code nft} starts:
 * {@code nft -f -} reads it from the owner-only file that {@link SystemProcessRunner} writes whole
 * before it starts a program (see its guarantees). Fed through a pipe instead, a launcher killed
 * while writing would leave {@code nft} to read end-of-file and commit the prefix it had got, a
 * rule set without its final reject. Whatever happens to this process once {@code nft} runs, {@code
 * nft} loads all of the script or none of it. A {@link ProcessRunner} of the caller's own must feed
 * standard input the same way for this to hold.
 *
 * <p>The commands are argument lists, so that a caller can run them elsewhere: {@code [nft]} on the
 * host, {@code [ip, netns, exec, NS, nft]} in a namespace, {@code [sudo, -n, nft]}, a fake script
 * in tests.
 *
 * <p>The DNS filter's grants are the exception: {@link #applyGrant} sends them to one long-lived
 * {@code nft -i} ({@link NftSession}, the same nft command), started at the first grant and killed
 * by {@link #close}, because an answer waits for its grant and a process start per grant costs tens
 * of milliseconds. A grant is small, and a prefix of one cannot widen anything (see there); a whole
 * script goes through {@code nft -f -} as above.
 *
 * <p>Thread-safe; every method blocks until the child exits or is killed, {@link #applyGrant} until
 * the session answered or was killed.
 */
public final class NftCommand {
  private final ProcessRunner runner;
  private final List<String> nft;
  private final List<String> conntrack;
  private final Duration timeout;
  private final NftSession grants;

  /**
   * Whether conntrack takes a file of commands ({@code -R}, conntrack-tools 1.4.6 and later);
   * cleared the first time it refuses the option, and each deletion runs on its own from then on.
   */
  private volatile boolean conntrackBatches = true;

  /**
   * @param runner runs the processes
   * @param nft the nft command, for example {@code List.of("nft")}
   * @param conntrack the conntrack command, for example {@code List.of("conntrack")}
   * @param timeout how long one call may take before it is killed
   */
  public NftCommand(
      ProcessRunner runner, List<String> nft, List<String> conntrack, Duration timeout) {
    this.runner = Objects.requireNonNull(runner, "runner");
    if (nft.isEmpty() || conntrack.isEmpty()) {
      throw new IllegalArgumentException("the nft and conntrack commands must not be empty");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
    this.nft = List.copyOf(nft);
    this.conntrack = List.copyOf(conntrack);
    this.timeout = timeout;
    this.grants = new NftSession(this.nft, timeout);
  }

  /**
   * {@code nft} and {@code conntrack} from PATH, run by a {@link SystemProcessRunner}, 10 s each.
   */
  public static NftCommand onPath() {
    return new NftCommand(
        new SystemProcessRunner(), List.of("nft"), List.of("conntrack"), Duration.ofSeconds(10));
  }

  /**
   * Loads {@code script} as one transaction with {@code nft -f -}: all of it applies, or none.
   *
   * @throws NftException classified, with the failing lines nft reported; of kind {@link
   *     NftException.Kind#TIMEOUT} when nft was killed, after which only a read-back tells whether
   *     it had committed
   */
  public void apply(String script) throws NftException {
    ProcessResult result = run(withArgs(nft, "-f", "-"), script, true);
    if (!result.succeeded()) {
      throw classify("nft -f - failed", result.stderr(), script);
    }
  }

  /**
   * Applies {@code script}, a grant as {@link NftRenderer#grant} renders it (element commands, one
   * a line), as one transaction through the grant session: all of it applies, or none. Starts the
   * session if none runs; any failure kills it, and the next grant starts a new one.
   *
   * @throws NftException as {@link #apply} does; of kind {@link NftException.Kind#TIMEOUT} when the
   *     session was killed at the timeout, after which only a read-back tells whether the grant had
   *     committed
   */
  public void applyGrant(String script) throws NftException {
    grants.apply(script);
  }

  /**
   * Kills the grant session, if one runs; later grants are refused ({@link #apply} and the other
   * calls still run). Idempotent.
   */
  public void close() {
    grants.close();
  }

  /**
   * {@code nft list <what...>}, for example {@code list("table", "inet", "egress")}.
   *
   * @return the listing
   * @throws NftException of kind {@link NftException.Kind#MISSING_OBJECT} when the object does not
   *     exist
   */
  public String list(String... what) throws NftException {
    List<String> args = new ArrayList<>(List.of("list"));
    args.addAll(List.of(what));
    ProcessResult result = run(withArgs(nft, args.toArray(String[]::new)), "", true);
    if (!result.succeeded()) {
      throw classify("nft " + String.join(" ", args) + " failed", result.stderr(), "");
    }
    return result.stdout();
  }

  /**
   * Deletes every tracked connection of each of {@code addresses}: those it opened ({@code -s}),
   * those opened to it ({@code -d}), and those whose replies come from it ({@code -r}) —
   * connections that reached it through a published port, whose original destination is the host.
   * One {@code conntrack -R -} runs all of the deletions, read from its standard input; a conntrack
   * without {@code -R} (before 1.4.6) gets one call per deletion instead. Finding none is success.
   *
   * @throws NftException at the first real failure; deletions before it stay done
   */
  public void deleteConnectionsOf(Collection<InetAddress> addresses) throws NftException {
    List<List<String>> deletions = new ArrayList<>();
    for (InetAddress address : new LinkedHashSet<>(addresses)) {
      for (String match : List.of("-s", "-d", "-r")) {
        deletions.add(
            List.of(
                "-D",
                "-f",
                IpAddresses.isIpv6(address) ? "ipv6" : "ipv4",
                match,
                IpAddresses.format(address)));
      }
    }
    if (deletions.isEmpty()) {
      return;
    }
    if (conntrackBatches) {
      StringBuilder batch = new StringBuilder();
      deletions.forEach(deletion -> batch.append(String.join(" ", deletion)).append('\n'));
      ProcessResult result = run(withArgs(conntrack, "-R", "-"), batch.toString(), false);
      if (!refusesBatches(result)) {
        checkDeleted(result, "conntrack -R (" + deletions.size() + " deletions)");
        return;
      }
      conntrackBatches = false;
    }
    for (List<String> deletion : deletions) {
      ProcessResult result = run(withArgs(conntrack, deletion.toArray(String[]::new)), "", false);
      checkDeleted(result, "conntrack " + String.join(" ", deletion));
    }
  }

  /** getopt's words for an option it does not know, as conntrack before 1.4.6 prints them. */
  private static boolean refusesBatches(ProcessResult result) {
    String stderr = result.stderr().toLowerCase(Locale.ROOT);
    return !result.succeeded()
        && (stderr.contains("invalid option") || stderr.contains("unrecognized option"));
  }

  private static void checkDeleted(ProcessResult result, String what) throws NftException {
    // conntrack exits 1 when nothing matched ("0 flow entries have been deleted").
    if (!result.succeeded() && !result.stderr().contains(" 0 flow entries")) {
      throw classify(what + " failed", result.stderr(), "");
    }
  }

  private static List<String> withArgs(List<String> command, String... args) {
    List<String> full = new ArrayList<>(command);
    full.addAll(List.of(args));
    return full;
  }

  private ProcessResult run(List<String> command, String stdin, boolean parsesStdout)
      throws NftException {
    Command call = new Command(command, stdin, timeout);
    ProcessResult result;
    try {
      result = runner.run(call);
    } catch (IOException | InterruptedException e) {
      throw notRun(call.toString(), e);
    }
    if (parsesStdout && !result.stdoutComplete()) {
      throw new NftException(
          NftException.Kind.OTHER,
          call
              + " printed more than the process runner keeps ("
              + result.droppedStdoutBytes()
              + " bytes dropped), so its answer cannot be read",
          "the table holds far more than the enforcer loads: look at it with nft list by hand",
          null);
    }
    return result;
  }

  /**
   * The {@link NftException} for a call that could not be run to its end: not started, killed at
   * its timeout ({@link NftException.Kind#TIMEOUT}), unreadable, or interrupted (the thread's
   * interrupt flag is set again).
   */
  static NftException notRun(String call, Exception e) {
    if (e instanceof ProcessStartException) {
      return new NftException(
          NftException.Kind.NOT_INSTALLED,
          String.valueOf(e.getMessage()),
          "install nftables and conntrack (Debian: apt-get install nftables conntrack); a user"
              + " other than root may need their full paths (/usr/sbin)",
          e);
    }
    if (e instanceof ProcessTimeoutException) {
      return new NftException(
          NftException.Kind.TIMEOUT,
          String.valueOf(e.getMessage()),
          "the call was killed before this was reported (the message names any process that"
              + " survived); what it did before that only a read-back shows. Check the host's"
              + " load and whether another process holds the nftables lock",
          e);
    }
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
      return new NftException(NftException.Kind.OTHER, "interrupted while running " + call, "", e);
    }
    return new NftException(
        NftException.Kind.OTHER, "could not run " + call + ": " + e.getMessage(), "", e);
  }

  static NftException classify(String what, String stderr, String script) {
    String lower = stderr.toLowerCase(Locale.ROOT);
    String detail = stderr.strip().isEmpty() ? "" : ": " + firstLines(stderr.strip(), 6);
    NftException.Kind kind;
    String hint;
    if (lower.contains("operation not permitted") || lower.contains("permission denied")) {
      kind = NftException.Kind.PERMISSION_DENIED;
      hint = "run as root or give the process CAP_NET_ADMIN";
    } else if (lower.contains("protocol not supported") || lower.contains("not supported")) {
      kind = NftException.Kind.KERNEL_UNSUPPORTED;
      hint =
          "the kernel lacks nf_tables or conntrack support: load the modules (modprobe"
              + " nf_tables nf_conntrack) or use a kernel that has them";
    } else if (lower.contains("syntax error") || lower.contains("unexpected")) {
      kind = NftException.Kind.SYNTAX;
      hint = "nft rejected a generated script: this is a bug, please report it with the script";
    } else if (lower.contains("file exists")) {
      kind = NftException.Kind.CONFLICT;
      hint =
          "a container address is still mapped to another rule set: detach that container"
              + " (or reconcile) first";
    } else if (lower.contains("no such file or directory")) {
      kind = NftException.Kind.MISSING_OBJECT;
      hint =
          "the table or one of its objects was removed behind the enforcer's back; prepare()"
              + " recreates the table, reconcile reinstalls attachments";
    } else {
      kind = NftException.Kind.OTHER;
      hint = "";
    }
    String context =
        script.isEmpty() || kind != NftException.Kind.SYNTAX
            ? ""
            : "\nscript:\n" + firstLines(script, 40);
    return new NftException(kind, what + detail + context, hint, null);
  }

  private static String firstLines(String text, int count) {
    String[] lines = text.split("\n", count + 1);
    return lines.length <= count
        ? text
        : String.join("\n", List.of(lines).subList(0, count)) + "\n...";
  }
}
