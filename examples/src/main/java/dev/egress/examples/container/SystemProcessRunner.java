package dev.egress.examples.container;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Runs commands with {@link ProcessBuilder}. A bare executable name is looked up on a search path
 * (the process's {@code PATH} unless another is given), which also becomes the child's {@code
 * PATH}. Standard output and error are drained concurrently, so a chatty process never blocks on a
 * full pipe. Thread-safe and immutable.
 */
public final class SystemProcessRunner implements ProcessRunner {
  private final List<Path> searchPath;

  /** Looks executables up on the process's {@code PATH}. */
  public SystemProcessRunner() {
    this(pathOf(System.getenv("PATH")));
  }

  /** Looks executables up in {@code searchPath}, in order. */
  public SystemProcessRunner(List<Path> searchPath) {
    this.searchPath = List.copyOf(searchPath);
  }

  @Override
  public ProcessResult run(List<String> command, Duration timeout)
      throws IOException, InterruptedException {
    if (command.isEmpty()) {
      throw new IllegalArgumentException("empty command");
    }
    List<String> resolved = new ArrayList<>(command);
    resolved.set(0, resolve(command.get(0)));
    ProcessBuilder builder = new ProcessBuilder(resolved);
    builder
        .environment()
        .put(
            "PATH",
            searchPath.stream()
                .map(Path::toString)
                .collect(Collectors.joining(File.pathSeparator)));
    Process process = builder.start();
    process.getOutputStream().close();
    FutureTask<String> stdout = drain(process.getInputStream());
    FutureTask<String> stderr = drain(process.getErrorStream());
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IOException(
            "'"
                + String.join(" ", ProcessResult.redacted(command))
                + "' did not finish within "
                + timeout.toMillis()
                + " ms and was killed");
      }
      return new ProcessResult(command, process.exitValue(), stdout.get(), stderr.get());
    } catch (InterruptedException e) {
      process.destroyForcibly();
      throw e;
    } catch (ExecutionException e) {
      throw new IOException(
          "could not read the output of '"
              + String.join(" ", ProcessResult.redacted(command))
              + "'",
          e.getCause());
    }
  }

  private String resolve(String executable) throws IOException {
    if (executable.contains(File.separator)) {
      return executable;
    }
    for (Path directory : searchPath) {
      Path candidate = directory.resolve(executable);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    throw new IOException("'" + executable + "' was not found on the search path " + searchPath);
  }

  private static List<Path> pathOf(@Nullable String path) {
    if (path == null || path.isEmpty()) {
      return List.of();
    }
    return Arrays.stream(path.split(File.pathSeparator))
        .filter(p -> !p.isEmpty())
        .map(Path::of)
        .toList();
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
