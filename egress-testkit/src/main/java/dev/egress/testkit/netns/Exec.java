package dev.egress.testkit.netns;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs one short command to completion: stdin written, both outputs drained, bounded in time. */
final class Exec {
  private Exec() {}

  /** What a finished command printed and returned. */
  record Result(int exitCode, String stdout, String stderr) {
    boolean ok() {
      return exitCode == 0;
    }
  }

  static Result run(List<String> command, String stdin, Duration timeout) throws IOException {
    Process process = new ProcessBuilder(command).start();
    CompletableFuture<String> out = drain(process.getInputStream());
    CompletableFuture<String> err = drain(process.getErrorStream());
    try (OutputStream in = process.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      // The command exited without reading its input; its exit status says what happened.
    }
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
        throw new IOException(String.join(" ", command) + " did not finish within " + timeout);
      }
      return new Result(
          process.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + String.join(" ", command), e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("could not read the output of " + String.join(" ", command), e);
    }
  }

  /** Runs {@code command} and fails with its stderr unless it exits 0. */
  static String check(List<String> command, String stdin, Duration timeout) throws IOException {
    Result result = run(command, stdin, timeout);
    if (!result.ok()) {
      throw new IOException(
          String.join(" ", command)
              + " exited "
              + result.exitCode()
              + ": "
              + result.stderr().strip()
              + (stdin.isEmpty() ? "" : "\ninput was:\n" + stdin));
    }
    return result.stdout();
  }

  static CompletableFuture<String> drain(InputStream stream) {
    return CompletableFuture.supplyAsync(
        () -> {
          ByteArrayOutputStream buffer = new ByteArrayOutputStream();
          try (stream) {
            stream.transferTo(buffer);
          } catch (IOException e) {
            // The process died; what was read so far is all there is.
          }
          return buffer.toString(StandardCharsets.UTF_8);
        },
        command -> {
          Thread thread = new Thread(command, "exec-drain");
          thread.setDaemon(true);
          thread.start();
        });
  }
}
