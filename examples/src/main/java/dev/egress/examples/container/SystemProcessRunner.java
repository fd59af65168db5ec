package dev.egress.examples.container;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Runs commands with {@link ProcessBuilder}, resolving the executable on the {@code PATH}. Standard
 * output and error are drained concurrently, so a chatty process never blocks on a full pipe.
 * Thread-safe and stateless.
 */
public final class SystemProcessRunner implements ProcessRunner {

  @Override
  public ProcessResult run(List<String> command, Duration timeout)
      throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.PIPE).start();
    process.getOutputStream().close();
    FutureTask<String> stdout = drain(process.getInputStream());
    FutureTask<String> stderr = drain(process.getErrorStream());
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IOException(
            "'" + String.join(" ", command) + "' did not finish within " + timeout.toMillis()
                + " ms and was killed");
      }
      return new ProcessResult(command, process.exitValue(), stdout.get(), stderr.get());
    } catch (InterruptedException e) {
      process.destroyForcibly();
      throw e;
    } catch (ExecutionException e) {
      throw new IOException("could not read the output of '" + String.join(" ", command) + "'",
          e.getCause());
    }
  }

  /** Reads a stream to its end on a thread of its own (a shared pool could starve one stream). */
  private static FutureTask<String> drain(InputStream stream) {
    FutureTask<String> task =
        new FutureTask<>(
            () -> {
              try (stream) {
                ByteArrayOutputStream buffer = new ByteArrayOutputStream();
                stream.transferTo(buffer);
                return buffer.toString(StandardCharsets.UTF_8);
              }
            });
    Thread reader = new Thread(task, "process-output-reader");
    reader.setDaemon(true);
    reader.start();
    return task;
  }
}
