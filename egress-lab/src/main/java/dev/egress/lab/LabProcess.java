package dev.egress.lab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A JVM of this process's class path running a main class in a lab's host namespace, where whatever
 * must own sockets or rules there runs (an enforcer and its DNS filter, as egressd would on a host,
 * with the JVM options egressd runs with). It talks in lines: it prints {@code ready} once started,
 * then answers each command line with one line ({@code failed MESSAGE} when the command failed),
 * and ends at the end of its input. Its stderr goes to a temporary file, quoted when it fails.
 *
 * <p>Thread-safe: one command at a time.
 */
public final class LabProcess implements AutoCloseable {
  /**
   * The JVM options egressd's service files give it (egress-daemon's {@code ServiceFile}, which
   * this module cannot see; egress-daemon's tests check that the two agree): what runs there is
   * measured and tested as it runs there.
   */
  public static final List<String> EGRESSD_JAVA_OPTIONS =
      List.of("-XX:+UseSerialGC", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1", "-Xcomp");

  private final Process process;
  private final Path stderr;
  private final Writer commands;
  private final BufferedReader answers;

  private LabProcess(Process process, Path stderr) {
    this.process = process;
    this.stderr = stderr;
    this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    this.answers =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  /**
   * Starts {@code mainClass} with {@code args} in {@code lab}'s host namespace and waits for its
   * {@code ready}.
   *
   * @throws IOException if it could not start or said something else first
   */
  public static LabProcess startInHost(NetnsLab lab, String mainClass, String... args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(EGRESSD_JAVA_OPTIONS);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    command.addAll(List.of(args));
    Path stderr = Files.createTempFile("lab-process", ".err");
    LabProcess started =
        new LabProcess(
            new ProcessBuilder(lab.inHost(command.toArray(String[]::new)))
                .redirectError(stderr.toFile())
                .start(),
            stderr);
    String ready = started.answers.readLine();
    if (!"ready".equals(ready)) {
      String errors = started.errors();
      started.close();
      throw new IOException(mainClass + " did not start: " + ready + " " + errors);
    }
    return started;
  }

  /**
   * Sends one command line and returns its answer.
   *
   * @throws IOException if the answer is {@code failed ...} or the process ended
   */
  public synchronized String ask(String line) throws IOException {
    commands.write(line + "\n");
    commands.flush();
    String answer = answers.readLine();
    if (answer == null || answer.startsWith("failed")) {
      throw new IOException(line + ": " + (answer == null ? "no answer; " + errors() : answer));
    }
    return answer;
  }

  /**
   * Sends one command line whose answer is a count and that many lines, and returns those lines.
   */
  public synchronized List<String> askLines(String line) throws IOException {
    String count = ask(line);
    if (!count.matches("\\d{1,6}")) {
      throw new IOException(line + ": expected a count, got " + count);
    }
    List<String> lines = new ArrayList<>();
    for (int i = Integer.parseInt(count); i > 0; i--) {
      String next = answers.readLine();
      if (next == null) {
        throw new IOException(line + ": the process ended; " + errors());
      }
      lines.add(next);
    }
    return lines;
  }

  /** The process id, for reading its memory from {@code /proc}. */
  public long pid() {
    return process.pid();
  }

  private String errors() {
    try {
      return Files.readString(stderr);
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** Ends its input, waits up to 20 s for it to exit, then kills it. Idempotent. */
  @Override
  public void close() throws IOException {
    try {
      commands.close();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    } finally {
      Files.deleteIfExists(stderr);
    }
  }
}
