package dev.egress.audit;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A {@link LogProcess} kept running: when the program ends before {@link #close}, it is started
 * again after a back-off that doubles with each restart (failed or not), up to a maximum, and
 * starts again at its first value once a program has run for longer than that maximum: a program
 * that keeps dying soon after it starts is not restarted in a tight loop. A log reader that dies
 * (tcpdump killed, the interface re-created) would otherwise leave the audit trail silent.
 *
 * <p>Thread-safe. One supervising daemon thread per instance, blocked while the program runs.
 */
public final class RestartingLogProcess implements AutoCloseable {
  private final List<String> argv;
  private final Consumer<String> lines;
  private final String readyText;
  private final Duration readyTimeout;
  private final Duration firstBackoff;
  private final Duration maxBackoff;
  private final AtomicLong restarts = new AtomicLong();
  private final Thread supervisor;
  private @Nullable LogProcess current;
  private @Nullable String lastFailure;
  private boolean closed;

  private RestartingLogProcess(
      List<String> argv,
      Consumer<String> lines,
      String readyText,
      Duration readyTimeout,
      Duration firstBackoff,
      Duration maxBackoff,
      LogProcess first) {
    this.argv = argv;
    this.lines = lines;
    this.readyText = readyText;
    this.readyTimeout = readyTimeout;
    this.firstBackoff = firstBackoff;
    this.maxBackoff = maxBackoff;
    this.current = first;
    this.supervisor = new Thread(this::supervise, "log reader supervisor " + argv.get(0));
    supervisor.setDaemon(true);
  }

  /**
   * Starts {@code argv} as {@link LogProcess#start} does and returns once it wrote {@code
   * readyText} to standard error; keeps it running from then on.
   *
   * @param firstBackoff the wait before the first restart, positive
   * @param maxBackoff the longest wait between restarts, at least {@code firstBackoff}
   * @throws IllegalStateException if the first start failed or did not get ready within {@code
   *     readyTimeout} (nothing is left running)
   */
  public static RestartingLogProcess start(
      List<String> argv,
      Consumer<String> lines,
      String readyText,
      Duration readyTimeout,
      Duration firstBackoff,
      Duration maxBackoff)
      throws InterruptedException {
    if (firstBackoff.isNegative()
        || firstBackoff.isZero()
        || maxBackoff.compareTo(firstBackoff) < 0) {
      throw new IllegalArgumentException(
          "back-off " + firstBackoff + " must be positive and at most " + maxBackoff);
    }
    List<String> command = List.copyOf(argv);
    LogProcess first;
    try {
      first = startReady(command, lines, readyText, readyTimeout);
    } catch (IOException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
    RestartingLogProcess process =
        new RestartingLogProcess(
            command,
            Objects.requireNonNull(lines, "lines"),
            readyText,
            readyTimeout,
            firstBackoff,
            maxBackoff,
            first);
    process.supervisor.start();
    return process;
  }

  /**
   * @throws IOException naming the program and what it said, if it could not be started or did not
   *     get ready; it is not left running
   */
  private static LogProcess startReady(
      List<String> argv, Consumer<String> lines, String readyText, Duration readyTimeout)
      throws IOException, InterruptedException {
    LogProcess process = LogProcess.start(argv, lines);
    boolean ready = false;
    try {
      ready = process.awaitDiagnostic(readyText, readyTimeout);
    } finally {
      if (!ready) {
        process.close();
      }
    }
    if (!ready) {
      throw new IOException(
          "the log reader " + String.join(" ", argv) + " did not start: " + process.diagnostics());
    }
    return process;
  }

  private void supervise() {
    Duration backoff = firstBackoff;
    try {
      while (true) {
        LogProcess running;
        synchronized (this) {
          if (closed || current == null) {
            return;
          }
          running = current;
        }
        long started = System.nanoTime();
        running.awaitExit();
        running.close(); // reaps what it started and finishes reading its output
        synchronized (this) {
          if (closed) {
            return;
          }
          lastFailure = "exited: " + running.diagnostics();
          current = null;
        }
        if (System.nanoTime() - started > maxBackoff.toNanos()) {
          backoff = firstBackoff;
        }
        while (true) {
          Thread.sleep(backoff.toMillis());
          Duration doubled = backoff.multipliedBy(2);
          backoff = doubled.compareTo(maxBackoff) > 0 ? maxBackoff : doubled;
          try {
            LogProcess next = startReady(argv, lines, readyText, readyTimeout);
            synchronized (this) {
              if (closed) {
                next.close();
                return;
              }
              current = next;
              restarts.incrementAndGet(); // counted once it runs: restarts() > 0 implies running
            }
            break;
          } catch (IOException | RuntimeException e) {
            // A start that throws unchecked (a bad argv, a refused exec) is a failed start too: the
            // supervisor keeps trying rather than leave the trail silent with no reason.
            synchronized (this) {
              lastFailure = String.valueOf(e.getMessage());
            }
          }
        }
      }
    } catch (InterruptedException e) {
      // close() stops the supervisor
    }
  }

  /** How often the program was started again after it ended. */
  public long restarts() {
    return restarts.get();
  }

  /** Whether a started program is running now (false while waiting to restart one). */
  public synchronized boolean isRunning() {
    return current != null && current.isAlive();
  }

  /** Why the program last ended or failed to start again, or null if it never did. */
  public synchronized @Nullable String lastFailure() {
    return lastFailure;
  }

  /** Stops the supervisor and kills the program. Idempotent. */
  @Override
  public void close() {
    LogProcess running;
    synchronized (this) {
      closed = true;
      running = current;
      current = null;
    }
    supervisor.interrupt();
    if (running != null) {
      running.close();
    }
    try {
      supervisor.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
