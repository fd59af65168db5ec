package dev.egress.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * A long-lived child program spoken to in exchanges: each {@link #exchange} writes a piece of its
 * standard input and reads the lines it prints in answer (standard error merged into standard
 * output, in the order the program wrote them), until the caller's test says the answer is whole.
 * For programs that answer each line of input as it comes ({@code nft -i}), so that one process
 * start serves many commands.
 *
 * <p>Fail-closed by construction: an exchange that outlives its timeout, is interrupted, finds the
 * program gone, or meets output it cannot hold (a line over {@value #LINE_LIMIT} bytes, more than
 * {@value #QUEUED_LIMIT} lines unread) kills the program with every process it started, as {@link
 * SystemProcessRunner} does at a timeout ({@code sudo} and the command it runs included, with the
 * same limits), and throws; the process is closed from then on and every later exchange throws at
 * once. A caller starts a new one.
 *
 * <p>Unlike {@link SystemProcessRunner}, the input goes through a pipe while the program runs: a
 * caller that dies in the middle of a write leaves the program reading a prefix of it, then end of
 * file. Programs that act on what they read must make that harmless (see {@code NftSession}).
 * Writes of at most {@code PIPE_BUF} bytes (4096 on Linux) reach the program whole or not at all.
 *
 * <p>Thread-safe: exchanges are serialized; {@link #close} may be called from any thread at any
 * time and makes a running exchange fail. Each process holds a daemon thread that reads its output
 * and, from the first text it cannot write on the calling thread (see {@link #exchange}), one that
 * writes; both end with it.
 */
public final class InteractiveProcess implements AutoCloseable {
  /** Bytes of one line of output beyond which the program is taken to be broken: 1 MiB. */
  public static final int LINE_LIMIT = 1024 * 1024;

  /** Lines of output read but not yet taken by an exchange beyond which the same holds. */
  public static final int QUEUED_LIMIT = 100_000;

  /**
   * Bytes a pipe takes in one write, whole or not at all, and at least what an empty pipe holds
   * ({@code PIPE_BUF} on Linux): a text this short, written when the program has read every earlier
   * one, cannot block.
   */
  static final int PIPE_BUF = 4096;

  /**
   * How often a waiting exchange checks that the program still runs: its output ends at its exit
   * only if no process it started holds the pipe open, so an exit is also noticed this way.
   */
  private static final long LIVENESS_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /**
   * How long after the program's exit a waiting exchange still takes what the reader finds in the
   * pipe (the rest of an answer printed just before the exit) before it fails.
   */
  private static final long EXIT_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final List<String> argv;
  private final String shown;
  private final Process process;
  private final OutputStream input;
  private final ExecutorService writer;

  /** The output's lines not yet taken by an exchange, and why it ended. */
  private final Lines output = new Lines();

  private final AtomicBoolean open = new AtomicBoolean(true);

  /**
   * Whether the program has read every text written to it, as the last exchange's answer says (see
   * {@link #exchange}): the pipe is empty. Guarded by this.
   */
  private boolean drained = true;

  /** What an exchange found: its answer's lines, or the lines before the output ended and why. */
  private record Found(List<String> lines, @Nullable String ended) {}

  /**
   * The output's lines that no exchange has taken yet, and why the output ended, between the reader
   * thread that adds them and the exchange that takes them. The reader tests the waiting exchange's
   * {@code answered} after each line and wakes it once that holds, or once the output ended: one
   * wake-up an answer, not one a line (nft answers a grant's marker in five writes; issue 13).
   */
  private static final class Lines {
    private static final int NO_ANSWER = -1;

    private final List<String> unread = new ArrayList<>();
    private @Nullable String ended;
    private @Nullable Predicate<List<String>> awaited;

    /** How many of the unread lines answer the waiting exchange; {@link #NO_ANSWER} until then. */
    private int answer = NO_ANSWER;

    private @Nullable Throwable testFailed;

    /** Adds a line; false once more than {@value #QUEUED_LIMIT} are unread. */
    synchronized boolean add(String line) {
      unread.add(line);
      Predicate<List<String>> test = awaited;
      if (test != null && answer == NO_ANSWER && testFailed == null) {
        try {
          if (test.test(Collections.unmodifiableList(unread))) {
            answer = unread.size();
            notifyAll();
          }
        } catch (Throwable e) { // whatever the caller's test throws, the exchange throws
          testFailed = e;
          notifyAll();
        }
      }
      return unread.size() <= QUEUED_LIMIT;
    }

    /** The output ended (the first reason given stands); a waiting exchange fails. */
    synchronized void end(String why) {
      if (ended == null) {
        ended = why;
      }
      notifyAll();
    }

    /**
     * Waits until the unread lines answer and takes them: the shortest first lines for which {@code
     * answered} holds, tested on this thread for each length of the lines already there, then by
     * the reader after each new line; the lines after the answer stay for the next exchange. Null
     * at the deadline. Ends, as the output's end does, once {@code program} is seen to have exited
     * (looked at every {@link #LIVENESS_CHECK_NANOS} ns) and {@link #EXIT_GRACE_NANOS} ns more have
     * passed: a process it started may hold the pipe open, and the reader then never sees its end.
     */
    synchronized @Nullable Found await(
        Predicate<List<String>> answered, long deadline, Process program)
        throws InterruptedException {
      testFailed = null;
      answer = NO_ANSWER;
      for (int length = 0; length <= unread.size() && answer == NO_ANSWER; length++) {
        if (answered.test(Collections.unmodifiableList(unread.subList(0, length)))) {
          answer = length;
        }
      }
      awaited = answered;
      try {
        long exitSeen = 0;
        boolean exited = false;
        while (answer == NO_ANSWER && testFailed == null && ended == null) {
          long now = System.nanoTime();
          long left = deadline - now;
          if (left <= 0) {
            return null;
          }
          if (!exited && !program.isAlive()) {
            exited = true;
            exitSeen = now;
          }
          if (exited && now - exitSeen >= EXIT_GRACE_NANOS) {
            ended =
                "exited with "
                    + program.exitValue()
                    + " and its output did not end (a process it started may hold it open)";
            break;
          }
          long slice = exited ? EXIT_GRACE_NANOS - (now - exitSeen) : LIVENESS_CHECK_NANOS;
          TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, slice));
        }
        Throwable failed = testFailed;
        if (failed instanceof RuntimeException runtime) {
          throw runtime;
        }
        if (failed instanceof Error error) {
          throw error;
        }
        if (answer == NO_ANSWER) {
          return new Found(List.copyOf(unread), ended);
        }
        List<String> taken = List.copyOf(unread.subList(0, answer));
        unread.subList(0, answer).clear();
        return new Found(taken, null);
      } finally {
        awaited = null;
        answer = NO_ANSWER;
      }
    }
  }

  private InteractiveProcess(List<String> argv, Process process) {
    this.argv = argv;
    this.shown = new Command(argv, Duration.ofSeconds(1)).shown();
    this.process = process;
    this.input = process.getOutputStream();
    String name = "session-" + process.pid();
    this.writer =
        Executors.newSingleThreadExecutor(
            task -> {
              Thread thread = new Thread(task, name + "-in");
              thread.setDaemon(true);
              return thread;
            });
    Thread reader = new Thread(() -> read(process.getInputStream()), name + "-out");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts {@code argv} (never interpreted by a shell) with standard error merged into standard
   * output. Returns once it is started; what it prints before the first exchange is that exchange's
   * first lines.
   *
   * @param environment variables set for the program over this process's own (a program such as
   *     sudo may reset them for the command it runs)
   * @throws ProcessStartException if it could not be started
   */
  public static InteractiveProcess start(List<String> argv, Map<String, String> environment)
      throws ProcessStartException {
    Command command = new Command(argv, Duration.ofSeconds(1));
    long started = System.nanoTime();
    try {
      ProcessBuilder builder = new ProcessBuilder(command.argv()).redirectErrorStream(true);
      builder.environment().putAll(environment);
      Process process = builder.start();
      return new InteractiveProcess(command.argv(), process);
    } catch (IOException e) {
      throw new ProcessStartException(command, Duration.ofNanos(System.nanoTime() - started), e);
    }
  }

  /**
   * Writes {@code text} (UTF-8) to the program's standard input, then collects the lines it prints
   * until {@code answered} holds for the lines collected so far (tested when the exchange begins,
   * then after each line on the thread that reads the output, which wakes this one only once it
   * holds: keep it quick and free of side effects, and never exchange from it; lines without their
   * {@code \n}). Lines the program printed since the last exchange come first; those after the
   * answer stay for the next.
   *
   * <p>{@code answered} holds only once the program has read the whole text (it tests for the
   * answer to the text's last line): the pipe is then empty when the next exchange begins, and a
   * text of at most {@value #PIPE_BUF} bytes is written on the calling thread, where it cannot
   * block (an answer waits for no other thread to write it). A longer text, or any text after an
   * exchange that failed, is written on the writer thread, so that the timeout holds while the
   * program does not read.
   *
   * @param timeout how long the write and the answer may take together; positive
   * @return the lines, {@code answered} holding for them
   * @throws ProcessTimeoutException if the answer was not whole within {@code timeout}; the program
   *     was killed with the processes it started first (survivors are named)
   * @throws ProcessException if the program stopped reading, ended its output, exited or printed
   *     more than this holds before it answered (it was killed), or this process was closed before
   * @throws InterruptedException if the calling thread was interrupted; the program was killed
   */
  public synchronized List<String> exchange(
      String text, Predicate<List<String>> answered, Duration timeout)
      throws ProcessException, InterruptedException {
    Command call = new Command(argv, text, timeout, shown);
    long started = System.nanoTime();
    long deadline = started + timeout.toNanos();
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    try {
      if (drained && bytes.length <= PIPE_BUF) {
        drained = false;
        writeHere(bytes, started);
      } else {
        drained = false;
        writeOnWriter(bytes, call, started, deadline);
      }
      Found found = output.await(answered, deadline, process);
      if (found == null) {
        throw SystemProcessRunner.timedOut(call, started, kill());
      }
      List<String> lines = found.lines();
      if (found.ended() != null) {
        kill();
        throw new ProcessException(
            shown,
            since(started),
            found.ended()
                + " before it answered; it printed: "
                + lines.subList(0, Math.min(lines.size(), 20))
                + (lines.size() > 20 ? " and " + (lines.size() - 20) + " lines more" : ""),
            /* cause= */ null);
      }
      drained = true;
      return lines;
    } catch (InterruptedException e) {
      throw SystemProcessRunner.killedAtInterrupt(shown, kill(), e);
    }
  }

  /** Writes {@code bytes} on the calling thread: a pipe that is empty takes them at once. */
  private void writeHere(byte[] bytes, long started) throws ProcessException, InterruptedException {
    if (Thread.interrupted()) { // an interrupted caller sends nothing
      throw new InterruptedException("interrupted before the text was written");
    }
    if (!open.get()) {
      throw new ProcessException(shown, Duration.ZERO, "was closed; start a new process", null);
    }
    try {
      input.write(bytes);
      input.flush();
    } catch (IOException e) {
      boolean closed = !open.get();
      kill();
      throw new ProcessException(
          shown,
          since(started),
          closed ? "was closed; start a new process" : "stopped reading its input: " + e,
          e);
    }
  }

  /** Writes {@code bytes} on the writer thread, waiting for it at most until {@code deadline}. */
  private void writeOnWriter(byte[] bytes, Command call, long started, long deadline)
      throws ProcessException, InterruptedException {
    Future<?> written;
    try {
      written =
          writer.submit(
              () -> {
                input.write(bytes);
                input.flush();
                return null;
              });
    } catch (RejectedExecutionException e) { // the writer stops when the process is closed
      throw new ProcessException(shown, Duration.ZERO, "was closed; start a new process", e);
    }
    try {
      written.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw SystemProcessRunner.timedOut(call, started, kill());
    } catch (CancellationException e) { // close() came between the submit and the write
      throw new ProcessException(shown, since(started), "was closed; start a new process", e);
    } catch (ExecutionException e) {
      kill();
      throw new ProcessException(
          shown, since(started), "stopped reading its input: " + e.getCause(), e.getCause());
    }
  }

  /** Whether exchanges may still succeed: not closed, and the program still runs. */
  public boolean isOpen() {
    return open.get() && process.isAlive();
  }

  /**
   * The program's process id, as the system gave it: with {@code sudo} or {@code ip netns exec} in
   * front, that of the first program of {@code argv}.
   */
  public long pid() {
    return process.pid();
  }

  /**
   * Kills the program with every process it started (as {@link SystemProcessRunner} does at a
   * timeout) and waits, bounded, until they are gone. The program gets no end of file first: it
   * cannot act on a last piece of input. Idempotent.
   */
  @Override
  public void close() {
    kill();
  }

  private List<ProcessHandle> kill() {
    open.set(false);
    output.end("was closed"); // wakes a waiting exchange even if a survivor holds the pipe open
    // A write queued but not started is cancelled, so that its exchange fails as closed at once
    // instead of waiting for its timeout.
    writer.shutdownNow().forEach(queued -> ((Future<?>) queued).cancel(false));
    return ProcessTree.kill(
        process, SystemProcessRunner.RELAY_GRACE, SystemProcessRunner.KILL_WAIT);
  }

  private void read(InputStream stream) {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    String end = "closed its output";
    try (stream) {
      int count;
      reading:
      while ((count = stream.read(buffer)) != -1) {
        for (int i = 0; i < count; i++) {
          if (buffer[i] != '\n') {
            line.write(buffer[i]);
            if (line.size() > LINE_LIMIT) {
              end = "printed a line longer than " + LINE_LIMIT + " bytes";
              break reading;
            }
            continue;
          }
          boolean held = output.add(line.toString(StandardCharsets.UTF_8));
          line.reset();
          if (!held) {
            end = "printed more than " + QUEUED_LIMIT + " lines unread";
            break reading;
          }
        }
      }
    } catch (IOException e) {
      end = "could not be read (" + e.getMessage() + ")";
    } finally {
      output.end(end); // whatever ended the reading, a waiting exchange fails now
    }
  }

  private static Duration since(long started) {
    return Duration.ofNanos(System.nanoTime() - started);
  }
}
