package dev.egress.process;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Runs commands as child processes of this JVM, with these guarantees:
 *
 * <ul>
 *   <li>The program reads all of its standard input or nothing: the input is written whole to a new
 *       private file (owner-only, in {@code java.io.tmpdir}) before the program starts, the program
 *       reads it from that file, and the file is unlinked as soon as the program has started. A
 *       caller that dies while the program runs (killed, out of memory) therefore cannot leave it
 *       reading a prefix, which a program such as {@code pfctl -f -} or {@code nft -f -} would
 *       commit at end of file; and a program that stalls before reading (sudo waiting in PAM, a
 *       hung pfctl) cannot block the caller, whatever the size of the input.
 *   <li>The timeout covers the whole run: writing the input file, starting, running, and reading
 *       the output to its end.
 *   <li>Standard output and standard error are read concurrently, each on its own thread, so a
 *       program that fills one pipe never deadlocks. Each keeps a head of at most its limit (by
 *       default {@value #DEFAULT_STDOUT_LIMIT} bytes of standard output, {@value
 *       #DEFAULT_STDERR_LIMIT} of standard error); the rest is counted in the {@link
 *       ProcessResult}, not kept.
 *   <li>At the timeout, or when the calling thread is interrupted, the runner lists the process and
 *       all its descendants and sends each SIGKILL: a program that handled SIGTERM could still
 *       finish what it was doing (commit a transaction) after the caller was told it was stopped. A
 *       root JVM kills parents before children, so that no parent acts on a child's death; any
 *       other goes children first, to learn what it may not kill. A process this JVM may not signal
 *       (the command sudo runs as root, when this JVM is not root) cannot be killed that way; its
 *       ancestors in the tree (sudo) get SIGTERM instead, which sudo relays to the command it
 *       started (SIGKILL of sudo would relay nothing), and SIGKILL 1 s later if they are still
 *       alive. The runner then waits up to 5 s for the tree to be gone, killing whatever it started
 *       meanwhile, and only then throws ({@link ProcessTimeoutException}, or {@link
 *       InterruptedException}): a call returns at most about 6 s after its timeout.
 * </ul>
 *
 * <p>What it cannot do, so run programs that neither daemonise nor ignore SIGTERM:
 *
 * <ul>
 *   <li>A caller that is not root cannot kill processes that run as root. Through sudo, only the
 *       command sudo started receives the relayed SIGTERM; if that command handles or ignores it,
 *       it may finish its work or survive, and its own children survive. Survivors are named in the
 *       exception and {@link ProcessTimeoutException#survivors()}; a root caller's SIGKILL reaches
 *       every process.
 *   <li>Not root, the runner kills children before their parents, so a parent that acts on a
 *       child's death in the moment before its own SIGKILL arrives gets to act.
 *   <li>A process that left the tree before the timeout (a daemon that forked twice, a background
 *       job whose parent already exited) is no longer a descendant and is not found, and keeps
 *       running. If it holds the output open, the call ends at the timeout with a {@link
 *       ProcessTimeoutException} that says so, unless the program exited before the runner's
 *       threads began to read: the JDK then closes the runner's end of the pipes, and the call
 *       returns what was written until then.
 *   <li>A process forked after the runner listed the tree, whose parent then died before the next
 *       listing, escapes the same way.
 * </ul>
 *
 * <p>A dead process not yet reaped by its parent (a zombie) counts as gone. A caller killed in the
 * moment between starting a program and unlinking its input file leaves that file behind, readable
 * by its owner only. Thread-safe and stateless: each call starts two daemon threads (output, error)
 * that end with the process's pipes.
 */
public final class SystemProcessRunner implements ProcessRunner {
  /** Bytes of standard output kept per command unless told otherwise: 16 MiB. */
  public static final int DEFAULT_STDOUT_LIMIT = 16 * 1024 * 1024;

  /** Bytes of standard error kept per command unless told otherwise: 64 KiB. */
  public static final int DEFAULT_STDERR_LIMIT = 64 * 1024;

  /** How long sudo gets to pass SIGTERM on to a command this JVM may not kill itself. */
  static final Duration RELAY_GRACE = Duration.ofSeconds(1);

  /** How long pipes may stay open after the process exited, when the timeout has passed. */
  private static final Duration OUTPUT_GRACE = Duration.ofSeconds(1);

  static final Duration KILL_WAIT = Duration.ofSeconds(5);

  private final int stdoutLimit;
  private final int stderrLimit;

  /** A runner that keeps the default heads of output. */
  public SystemProcessRunner() {
    this(DEFAULT_STDOUT_LIMIT, DEFAULT_STDERR_LIMIT);
  }

  /**
   * @param stdoutLimit bytes of standard output kept per command; positive
   * @param stderrLimit bytes of standard error kept per command; positive
   */
  public SystemProcessRunner(int stdoutLimit, int stderrLimit) {
    if (stdoutLimit <= 0 || stderrLimit <= 0) {
      throw new IllegalArgumentException(
          "output limits must be positive, got " + stdoutLimit + " and " + stderrLimit);
    }
    this.stdoutLimit = stdoutLimit;
    this.stderrLimit = stderrLimit;
  }

  @Override
  public ProcessResult run(Command command) throws ProcessException, InterruptedException {
    long started = System.nanoTime();
    long deadline = started + command.timeout().toNanos();
    ProcessBuilder builder = new ProcessBuilder(command.argv());
    @Nullable Path input = null;
    Process process;
    try {
      if (!command.stdin().isEmpty()) {
        input = Files.createTempFile("egress-stdin-", "");
        Files.writeString(input, command.stdin(), StandardCharsets.UTF_8);
        builder.redirectInput(input.toFile());
      }
      process = builder.start();
    } catch (IOException e) {
      throw new ProcessStartException(command, since(started), e);
    } finally {
      if (input != null) {
        deleteInput(input);
      }
    }
    if (input == null) {
      closeQuietly(process.getOutputStream()); // no input: the program reads end of file at once
    }
    String name = "process-" + process.pid();
    CapturedOutput stdout =
        CapturedOutput.start(process.getInputStream(), stdoutLimit, name + "-out");
    CapturedOutput stderr =
        CapturedOutput.start(process.getErrorStream(), stderrLimit, name + "-err");
    try {
      if (!process.waitFor(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
        throw timedOut(command, started, ProcessTree.kill(process, RELAY_GRACE, KILL_WAIT));
      }
      // Pipes close when the last process holding them exits: moments after the process itself,
      // unless something it left running in the background holds them.
      long outputDeadline = Math.max(deadline, System.nanoTime() + OUTPUT_GRACE.toNanos());
      if (!stdout.await(outputDeadline - System.nanoTime())
          || !stderr.await(outputDeadline - System.nanoTime())) {
        throw new ProcessTimeoutException(
            command,
            since(started),
            "exited with "
                + process.exitValue()
                + ", but its output was still open "
                + since(started).toMillis()
                + " ms after it started: a process it left running in the background holds it."
                + " That process has left the tree and was not killed; find it by the pipe it"
                + " holds (lsof) and make the command not leave it behind.",
            List.of());
      }
    } catch (InterruptedException e) {
      throw killedAtInterrupt(
          command.shown(), ProcessTree.kill(process, RELAY_GRACE, KILL_WAIT), e);
    }
    for (CapturedOutput output : List.of(stdout, stderr)) {
      IOException failure = output.failure();
      if (failure != null) {
        throw new ProcessException(
            command.shown(),
            since(started),
            "exited with "
                + process.exitValue()
                + ", but its output could not be read: "
                + failure.getMessage(),
            failure);
      }
    }
    return new ProcessResult(
        process.exitValue(), stdout.text(), stderr.text(), stdout.dropped(), stderr.dropped());
  }

  /** Unlinks an input file; the program, if it started, keeps reading it through its descriptor. */
  private static void deleteInput(Path input) {
    try {
      Files.deleteIfExists(input);
    } catch (IOException e) {
      // Left behind, owner-only: the program's run does not depend on it.
    }
  }

  private static void closeQuietly(OutputStream stream) {
    try {
      stream.close();
    } catch (IOException e) {
      // Closing the pipe of a program that already exited: its exit status tells the rest.
    }
  }

  /**
   * What to throw once a program was killed because the calling thread was interrupted: clears the
   * interrupt flag (set again if the kill was interrupted), which the exception now carries.
   */
  static InterruptedException killedAtInterrupt(
      String shown, List<ProcessHandle> survivors, InterruptedException cause) {
    Thread.interrupted();
    InterruptedException interrupted =
        new InterruptedException(
            "interrupted while '"
                + shown
                + "' ran; it was killed"
                + (survivors.isEmpty()
                    ? " with the processes it had started"
                    : ", but these survived: " + ProcessTree.describe(survivors)));
    interrupted.initCause(cause);
    return interrupted;
  }

  static ProcessTimeoutException timedOut(
      Command command, long started, List<ProcessHandle> survivors) {
    Duration elapsed = since(started);
    if (survivors.isEmpty()) {
      return new ProcessTimeoutException(command, elapsed);
    }
    return new ProcessTimeoutException(
        command,
        elapsed,
        "did not finish within "
            + command.timeout().toMillis()
            + " ms and was killed, but "
            + survivors.size()
            + " of its processes were still alive "
            + elapsed.toMillis()
            + " ms after it started: "
            + ProcessTree.describe(survivors)
            + ". A process of another user (the command sudo runs as root, and its children) may"
            + " not be signalled from here, and sudo relays SIGTERM only to the command it"
            + " started: kill them as root. "
            + ProcessTimeoutException.ADVICE,
        survivors.stream().map(ProcessHandle::pid).toList());
  }

  private static Duration since(long started) {
    return Duration.ofNanos(System.nanoTime() - started);
  }
}
