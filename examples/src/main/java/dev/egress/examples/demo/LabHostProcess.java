package dev.egress.examples.demo;

import dev.egress.lab.NetnsLab;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** A running {@link LabHost}: its process in the lab's host namespace, and its command lines. */
final class LabHostProcess implements AutoCloseable {
  private final Process process;
  private final Path stderr;
  private final Writer commands;
  private final BufferedReader answers;

  private LabHostProcess(Process process, Path stderr) {
    this.process = process;
    this.stderr = stderr;
    this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    this.answers =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  /** Starts a {@link LabHost} (this JVM's class path) and waits until it is ready. */
  static LabHostProcess start(NetnsLab lab, InetAddress filter) throws IOException {
    List<String> command =
        lab.inHost(
            ProcessHandle.current().info().command().orElse("java"),
            "-cp",
            System.getProperty("java.class.path"),
            LabHost.class.getName(),
            IpAddresses.format(filter),
            lab.containerNetworks().stream()
                .map(IpNetwork::toString)
                .collect(Collectors.joining(",")));
    Path stderr = Files.createTempFile("egress-demo-host", ".err");
    LabHostProcess host =
        new LabHostProcess(
            new ProcessBuilder(command).redirectError(stderr.toFile()).start(), stderr);
    try {
      String ready = host.answers.readLine();
      if (!"ready".equals(ready)) {
        throw new IOException("the demo's enforcer did not start: " + host.errors());
      }
      return host;
    } catch (IOException | RuntimeException e) {
      host.close();
      throw e;
    }
  }

  /**
   * Sends {@code command} and returns what follows {@code expected} in the answer.
   *
   * @throws IOException if the answer is another, or none
   */
  String ask(String command, String expected) throws IOException {
    commands.write(command + "\n");
    commands.flush();
    String answer = answers.readLine();
    if (answer == null || !(answer.equals(expected) || answer.startsWith(expected + " "))) {
      throw new IOException(command + ": " + (answer == null ? "no answer; " + errors() : answer));
    }
    return answer.substring(expected.length()).strip();
  }

  /** The audit trail's refused packets, one line each. */
  List<String> records() throws IOException {
    commands.write("records\n");
    commands.flush();
    String count = answers.readLine();
    if (count == null || !count.matches("\\d+")) {
      throw new IOException("records: " + (count == null ? "no answer; " + errors() : count));
    }
    List<String> lines = new ArrayList<>();
    for (int i = Integer.parseInt(count); i > 0; i--) {
      lines.add(answers.readLine());
    }
    return lines;
  }

  private String errors() {
    try {
      return Files.readString(stderr);
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** Ends the process (end of input closes the filter and the enforcer) and waits for it. */
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
