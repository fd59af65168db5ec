package dev.egress.nftables;

import dev.egress.process.InteractiveProcess;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One long-lived {@code nft -i} through which the DNS filter's grants reach the kernel: a grant
 * costs a round trip to a running nft instead of a process start (issue 13: the answer waits for
 * it). Loads, reinstalls and removals keep {@code nft -f -} from a file ({@link NftCommand#apply}):
 * whole scripts, which a pipe could cut short.
 *
 * <h2>One grant, one line, one transaction</h2>
 *
 * A script's commands (one a line) go to nft as one line, joined by {@code ;}. nft in interactive
 * mode parses each line whole and sends its commands as one batch, which the kernel commits or
 * refuses whole: a grant (per set one add, or add, delete, add) applies all of it or nothing (the
 * kernel suite checks that a line whose last command fails applies none). A script line that could
 * change how nft splits or reads the line ({@code ;}, {@code #} starting a comment, {@code \}
 * continuing it, a carriage return) is refused before anything is sent.
 *
 * <h2>Knowing that nft answered, and what</h2>
 *
 * After each grant line comes a marker line, {@code :egress-done N} with N counting up. Its first
 * character is a syntax error, so nft rejects it in its parser, before it talks to the kernel, and
 * echoes it back in its error: {@code Error: syntax error, unexpected colon}, the line, a caret
 * line. nft handles lines in order, so the grant's answer is whole once the marker's echo and the
 * line after it have come; what came before the marker's error is the grant's answer. nft prints
 * nothing for a transaction the kernel committed and an error for one it refused, so the grant
 * succeeded only if its answer is empty; any output (an error, other text) is a failure. Echo mode
 * ({@code -e}), which would print the committed elements, is not used: to print them nft fetches
 * the whole table's sets and elements before every command, 75 ms a grant with 2,000 sets against
 * 1.9 ms without it (nft 1.0.6), more than a process start.
 *
 * <h2>Fail closed</h2>
 *
 * Any failure (nft's error, unexpected output, no whole answer within the timeout, nft gone, an
 * interrupt) fails the grant (the filter answers SERVFAIL) and discards the process, killed with
 * every process it started ({@code sudo -n nft} included, as {@link NftCommand} kills); the next
 * grant starts a new one. A process killed in the middle of a transaction commits nothing of it:
 * the kernel commits a batch only when its end arrives. A grant that timed out may have committed
 * before the kill; {@link NftBackend} reads back which (as for {@code nft -f -}).
 *
 * <h2>A line cut short</h2>
 *
 * Unlike {@code nft -f -}'s file, the pipe can be cut: if this process dies while writing a line,
 * nft reads a prefix of it, then end of file, and runs that prefix as a line. The prefix cannot
 * widen anything. A write of at most {@code PIPE_BUF} bytes (4096 on Linux; a grant line with its
 * marker is shorter unless it carries dozens of elements: addresses times the pieces of ports their
 * names' lines cover) arrives whole or not at all. A longer one cut inside a command leaves an
 * unfinished command: every grant command ends with the {@code }} that closes its element list, and
 * the list holds no other brace, so the cut line is a syntax error and nft sends nothing. Cut
 * between commands, it is the grant's first commands: for each set the same elements are added
 * (with the new timeout), or added and deleted again, and later sets are untouched; never an
 * address the whole grant would not have added. The kernel suite feeds nft such prefixes.
 *
 * <h2>Memory</h2>
 *
 * nft keeps every line it read in its command history, in memory, reads {@code ~/.nft.history} when
 * it starts and writes the history there when it reads end of file. The session gives it {@code
 * HOME=/nonexistent}, so that it does neither (through sudo, which may reset {@code HOME}, root's
 * file may still be read, and written if this process dies without closing the session), never lets
 * it read end of file (it is killed when closed), and replaces the process after {@value
 * #GRANTS_PER_PROCESS} grants, which bounds what the history holds in memory (about 0.4 KiB a
 * grant, measured with nft 1.0.6).
 *
 * <p>Thread-safe: grants are serialized on the one process, each waiting for the one before. A call
 * blocks at most the timeout (plus the kill), besides the wait for the lock.
 */
final class NftSession implements AutoCloseable {
  /** How many grants one process serves before it is replaced; see "Memory". */
  static final int GRANTS_PER_PROCESS = 10_000;

  /**
   * nft's home for the session, where it reads and writes {@code .nft.history}: a directory that
   * does not exist, so that it does neither; see "Memory".
   */
  private static final String NO_HOME = "/nonexistent";

  private static final Pattern CARET = Pattern.compile("[ \\t]*\\^[\\^~]*");

  /** What no command of a grant may hold; see "One grant, one line, one transaction". */
  private static final Pattern UNSAFE = Pattern.compile("[;#\\\\\\r\\n]");

  private final List<String> argv;
  private final Duration timeout;
  private final int grantsPerProcess;

  private @Nullable InteractiveProcess process;
  private boolean closed;
  private int grants;
  private long markers;

  /**
   * @param nft the nft command, for example {@code [sudo, -n, nft]}; {@code -i} is added
   * @param timeout how long one grant may take before the process is killed; positive
   */
  NftSession(List<String> nft, Duration timeout) {
    this(nft, timeout, GRANTS_PER_PROCESS);
  }

  /**
   * As {@link #NftSession(List, Duration)}, replacing the process after {@code grantsPerProcess}.
   */
  NftSession(List<String> nft, Duration timeout, int grantsPerProcess) {
    List<String> argv = new ArrayList<>(nft);
    argv.add("-i");
    this.argv = List.copyOf(argv);
    this.timeout = timeout;
    this.grantsPerProcess = grantsPerProcess;
  }

  /**
   * Applies {@code script} (commands one a line, as {@link NftRenderer#grant} renders) as one
   * transaction, starting the process first if none runs.
   *
   * @throws NftException classified as {@link NftCommand#apply}'s are, when nft refused the
   *     transaction (nothing applied), answered otherwise than a success, or could not be run; of
   *     kind {@link NftException.Kind#TIMEOUT} when it was killed at the timeout, after which only
   *     a read-back tells whether the transaction had committed
   */
  synchronized void apply(String script) throws NftException {
    if (closed) {
      // A grant racing the enforcer's close (a DNS filter worker still under way) must not start
      // a root nft that nothing would ever kill.
      throw new NftException(
          NftException.Kind.OTHER,
          "the nft grant session is closed (its enforcer was closed): the grant is refused",
          "grant through an enforcer that is open",
          null);
    }
    if (Thread.currentThread().isInterrupted()) {
      // A DNS filter closing interrupts its threads: none of them may start a root nft for nothing.
      throw NftCommand.notRun(
          String.join(" ", argv), new InterruptedException("interrupted before the grant"));
    }
    String line = oneLine(script);
    String marker = ":egress-done " + ++markers;
    String call = String.join(" ", argv);
    List<String> answer;
    try {
      if (process == null || !process.isOpen() || grants >= grantsPerProcess) {
        discard();
        process = InteractiveProcess.start(argv, Map.of("HOME", NO_HOME));
        grants = 0;
      }
      grants++;
      // The marker is the line's last, and nft echoes it only once it has read it: what the
      // exchange's contract asks of its test, so that the next line cannot block its writer.
      answer =
          process.exchange(
              line + "\n" + marker + "\n",
              lines -> lines.size() >= 2 && lines.get(lines.size() - 2).equals(marker),
              timeout);
    } catch (IOException | InterruptedException e) {
      discard();
      throw NftCommand.notRun(call, e);
    }
    try {
      check(answer, call, script);
    } catch (NftException e) {
      discard();
      throw e;
    }
  }

  /**
   * Kills the process, if one runs, and refuses every later grant. Waits for a grant under way (at
   * most its timeout). Idempotent.
   */
  @Override
  public synchronized void close() {
    closed = true;
    discard();
  }

  /** Kills the process, if one runs; the next grant starts a new one. */
  private void discard() {
    if (process != null) {
      process.close();
      process = null;
    }
  }

  /** The script's commands joined into one line. */
  private static String oneLine(String script) throws NftException {
    List<String> commands = new ArrayList<>();
    for (String command : script.split("\n")) {
      if (command.isBlank()) {
        continue;
      }
      if (UNSAFE.matcher(command).find()) {
        throw new NftException(
            NftException.Kind.OTHER,
            "a grant command holds a character that would change how nft -i reads its line: "
                + command,
            "this is a bug, please report it with the command",
            null);
      }
      commands.add(command.strip());
    }
    if (commands.isEmpty()) {
      throw new IllegalArgumentException("a grant needs at least one command");
    }
    return String.join("; ", commands);
  }

  /**
   * Returns if {@code lines} (the grant's answer, then the marker's error) say the transaction
   * committed, and throws otherwise; see "Knowing that nft answered, and what".
   */
  private static void check(List<String> lines, String call, String script) throws NftException {
    int echo = lines.size() - 2; // the marker's echo, which the exchange waited for
    if (echo < 1
        || !lines.get(echo - 1).startsWith("Error: ")
        || !CARET.matcher(lines.get(echo + 1)).matches()) {
      throw unexpected(call, lines);
    }
    List<String> answer = lines.subList(0, echo - 1);
    if (answer.stream().anyMatch(line -> line.startsWith("Error"))) {
      throw NftCommand.classify(call + " refused the grant", String.join("\n", answer), script);
    }
    if (!answer.isEmpty()) {
      throw unexpected(call, lines);
    }
  }

  private static NftException unexpected(String call, List<String> lines) {
    return new NftException(
        NftException.Kind.OTHER,
        call
            + " answered a grant with output, where it prints nothing for a committed"
            + " transaction, so the grant counts as failed: "
            + String.join("\n", lines.subList(0, Math.min(lines.size(), 20))),
        "nft -i of nftables 1.0 prints nothing for a committed transaction; another version"
            + " may answer otherwise: please report it with this output",
        null);
  }
}
