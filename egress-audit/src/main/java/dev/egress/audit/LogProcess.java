package dev.egress.audit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A long-running log reader such as {@code tcpdump -q -n -l -tt -i nflog:N}: its standard output is
 * read line by line on a thread of its own and handed to a consumer, its standard error is drained
 * (the last lines are kept for {@link #diagnostics}), and {@link #close} kills it and everything it
 * started. Unlike egress-process's runner, which runs a program to completion, this one runs until
 * closed; it writes nothing to the program's standard input.
 *
 * <p>A line longer than {@link AuditJson#MAX_LINE_LENGTH} characters is cut there (tcpdump's lines
 * for refused packets are far shorter). Thread-safe.
 */
public final class LogProcess implements AutoCloseable {
  private static final int KEPT_ERROR_LINES = 20;

  private final Process process;
  private final Thread out;
  private final Thread err;
  private final Deque<String> errors = new ArrayDeque<>();

  private LogProcess(Process process, Consumer<String> lines, String name) {
    this.process = process;
    this.out = new Thread(() -> pump(process.getInputStream(), lines), name + " stdout");
    this.err = new Thread(() -> pump(process.getErrorStream(), this::keepError), name + " stderr");
    out.setDaemon(true);
    err.setDaemon(true);
    out.start();
    err.start();
  }

  /**
   * Starts {@code argv} and hands each line of its standard output to {@code lines}, in order, on
   * one thread; {@code lines} must not throw.
   *
   * @throws IOException if the program cannot be started
   */
  public static LogProcess start(List<String> argv, Consumer<String> lines) throws IOException {
    Objects.requireNonNull(lines, "lines");
    ProcessBuilder builder = new ProcessBuilder(List.copyOf(argv));
    builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    return new LogProcess(builder.start(), lines, "log reader " + argv.get(0));
  }

  /**
   * Waits until the program wrote a line containing {@code text} to standard error (tcpdump's
   * {@code listening on}, once it receives packets), or exited, or {@code timeout} passed.
   *
   * @return whether such a line came
   */
  public boolean awaitDiagnostic(String text, java.time.Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      synchronized (errors) {
        if (errors.stream().anyMatch(line -> line.contains(text))) {
          return true;
        }
      }
      if (!process.isAlive()) {
        err.join(1000);
        synchronized (errors) {
          return errors.stream().anyMatch(line -> line.contains(text));
        }
      }
      Thread.sleep(10);
    }
    return false;
  }

  /** Waits until the program has ended (killed by {@link #close} or on its own). */
  public void awaitExit() throws InterruptedException {
    process.waitFor();
  }

  /** Whether the program still runs. */
  public boolean isAlive() {
    return process.isAlive();
  }

  /** The last lines the program wrote to standard error, for messages. */
  public String diagnostics() {
    synchronized (errors) {
      return String.join("\n", errors);
    }
  }

  /**
   * Kills the program and its descendants and waits until its output was read to the end (at most
   * about five seconds). Idempotent.
   */
  @Override
  public void close() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(5, TimeUnit.SECONDS);
      out.join(5000);
      err.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void keepError(String line) {
    synchronized (errors) {
      errors.addLast(line);
      if (errors.size() > KEPT_ERROR_LINES) {
        errors.removeFirst();
      }
    }
  }

  private static void pump(InputStream stream, Consumer<String> lines) {
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = reader.read()) >= 0) {
        if (c == '\n') {
          lines.accept(line.toString());
          line.setLength(0);
        } else if (line.length() < AuditJson.MAX_LINE_LENGTH) {
          line.append((char) c);
        }
      }
      if (line.length() > 0) {
        lines.accept(line.toString());
      }
    } catch (IOException e) {
      // The stream closed under us (the program was killed): nothing more to read.
    }
  }
}
