package dev.egress.pf.pfctl;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Runs commands with {@link ProcessBuilder}. Standard output and error are drained on threads of
 * {@code executor} while standard input is written, so a command that fills one pipe before reading
 * its input or before exiting never deadlocks. At the timeout the command and every descendant it
 * started are killed forcibly.
 *
 * <p>Thread-safe. Each call uses two tasks of the executor for as long as the command runs.
 */
public final class SystemProcessRunner implements ProcessRunner {
  private static final Duration KILL_GRACE = Duration.ofSeconds(2);
  private final Executor executor;

  /**
   * @param executor runs the two pipe readers of each command; it must not queue them behind each
   *     other (a cached or virtual-thread pool suits)
   */
  public SystemProcessRunner(Executor executor) {
    this.executor = java.util.Objects.requireNonNull(executor, "executor");
  }

  @Override
  public ProcessResult run(List<String> command, String stdin, Duration timeout)
      throws IOException, InterruptedException {
    Process process = new ProcessBuilder(List.copyOf(command)).start();
    try {
      CompletableFuture<String> stdout = drain(process.getInputStream());
      CompletableFuture<String> stderr = drain(process.getErrorStream());
      try (OutputStream in = process.getOutputStream()) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      } catch (IOException closedEarly) {
        // The command exited without reading all its input; its exit status says whether
        // that was a failure.
      }
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        killTree(process);
        throw new ProcessTimeoutException(String.join(" ", command), timeout);
      }
      return new ProcessResult(process.exitValue(), join(stdout), join(stderr));
    } finally {
      if (process.isAlive()) {
        killTree(process);
      }
    }
  }

  private CompletableFuture<String> drain(InputStream stream) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (stream) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            stream.transferTo(buffer);
            return buffer.toString(StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        executor);
  }

  private static String join(CompletableFuture<String> output)
      throws IOException, InterruptedException {
    try {
      return output.get();
    } catch (ExecutionException e) {
      throw new IOException("reading the output of a command failed", e.getCause());
    }
  }

  /**
   * Kills the command and its descendants, listed before anything dies (an orphan is no longer a
   * descendant), and waits a little for them to be gone: SIGKILL is delivered asynchronously.
   */
  private static void killTree(Process process) throws InterruptedException {
    List<ProcessHandle> tree = process.descendants().toList();
    tree.forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    process.waitFor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    for (ProcessHandle descendant : tree) {
      try {
        descendant.onExit().get(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
        // Reported by whoever checks for survivors; nothing more can be done from here.
      }
    }
  }
}
