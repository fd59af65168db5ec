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
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Runs {@code nft} and {@code conntrack} through a {@link ProcessRunner}: scripts go to {@code nft
 * -f -} on stdin (one atomic transaction per call), and failures are classified into {@link
 * NftException.Kind}s with hints. A call that outlives the timeout is killed with every process it
 * started ({@code sudo} and the {@code nft} it runs included) before it is reported.
 *
 * <p>The commands are argument lists, so that a caller can run them elsewhere: {@code [nft]} on the
 * host, {@code [ip, netns, exec, NS, nft]} in a namespace, {@code [sudo, -n, nft]}, a fake script
 * in tests. Thread-safe; every method blocks until the child exits or is killed.
 */
public final class NftCommand {
  private final ProcessRunner runner;
  private final List<String> nft;
  private final List<String> conntrack;
  private final Duration timeout;

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
  }

  /**
   * {@code nft} and {@code conntrack} from PATH, run by a {@link SystemProcessRunner}, 10 s each.
   */
  public static NftCommand onPath() {
    return new NftCommand(
        new SystemProcessRunner(), List.of("nft"), List.of("conntrack"), Duration.ofSeconds(10));
  }

  /**
   * Loads {@code script} as one transaction: all of it applies, or none.
   *
   * @throws NftException classified, with the failing lines nft reported
   */
  public void apply(String script) throws NftException {
    ProcessResult result = run(withArgs(nft, "-f", "-"), script);
    if (!result.succeeded()) {
      throw classify("nft -f - failed", result.stderr(), script);
    }
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
    ProcessResult result = run(withArgs(nft, args.toArray(String[]::new)), "");
    if (!result.succeeded()) {
      throw classify("nft " + String.join(" ", args) + " failed", result.stderr(), "");
    }
    return result.stdout();
  }

  /**
   * Deletes every tracked connection of {@code address}: those it opened ({@code -s}), those opened
   * to it ({@code -d}), and those whose replies come from it ({@code -r}) — connections that
   * reached it through a published port, whose original destination is the host. Finding none is
   * success. Stops at the first real failure.
   */
  public void deleteConnectionsOf(InetAddress address) throws NftException {
    for (String match : List.of("-s", "-d", "-r")) {
      ProcessResult result =
          run(
              withArgs(
                  conntrack,
                  "-D",
                  "-f",
                  IpAddresses.isIpv6(address) ? "ipv6" : "ipv4",
                  match,
                  IpAddresses.format(address)),
              "");
      // conntrack exits 1 when nothing matched ("0 flow entries have been deleted").
      if (!result.succeeded() && !result.stderr().contains(" 0 flow entries")) {
        throw classify(
            "conntrack -D " + match + " " + IpAddresses.format(address) + " failed",
            result.stderr(),
            "");
      }
    }
  }

  private static List<String> withArgs(List<String> command, String... args) {
    List<String> full = new ArrayList<>(command);
    full.addAll(List.of(args));
    return full;
  }

  private ProcessResult run(List<String> command, String stdin) throws NftException {
    Command call = new Command(command, stdin, timeout);
    ProcessResult result;
    try {
      result = runner.run(call);
    } catch (ProcessStartException e) {
      throw new NftException(
          NftException.Kind.NOT_INSTALLED,
          String.valueOf(e.getMessage()),
          "install nftables and conntrack (Debian: apt-get install nftables conntrack); a user"
              + " other than root may need their full paths (/usr/sbin)",
          e);
    } catch (ProcessTimeoutException e) {
      throw new NftException(
          NftException.Kind.TIMEOUT,
          String.valueOf(e.getMessage()),
          "nft was killed, with every process it started, before this was reported: it changes"
              + " nothing more. Whether a transaction committed before that is unknown until the"
              + " table is read back (reconcile and the health check do). Check the host's load"
              + " and whether another process holds the nftables lock",
          e);
    } catch (IOException e) {
      throw new NftException(
          NftException.Kind.OTHER, "could not run " + call + ": " + e.getMessage(), "", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NftException(NftException.Kind.OTHER, "interrupted while running " + call, "", e);
    }
    if (!result.stdoutComplete()) {
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
