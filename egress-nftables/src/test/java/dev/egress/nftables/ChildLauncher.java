package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.policy.IpAddresses;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** A {@link ChildLauncherMain} process as the tests that kill launchers start and drive it. */
final class ChildLauncher {
  private final NetnsLab lab;
  private final Process process;
  private final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
  private final Writer commands;

  /**
   * @param jvmOptions options for the child JVM, such as {@code -Djava.io.tmpdir=...}
   * @param guarded whether the child's enforcer guards the lab's bridge and networks
   * @param nft the command that runs nft
   * @param conntrack the command that runs conntrack
   * @param stderr where the child's standard error goes
   */
  ChildLauncher(
      NetnsLab lab,
      List<String> jvmOptions,
      boolean guarded,
      List<String> nft,
      List<String> conntrack,
      Path stderr)
      throws IOException {
    this.lab = lab;
    List<String> command =
        new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java")));
    command.addAll(jvmOptions);
    command.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            ChildLauncherMain.class.getName(),
            guarded ? "guard" : "none",
            lab.hostProcNet().toString()));
    command.addAll(nft);
    command.add("--");
    command.addAll(conntrack);
    process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
    commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader out =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                out.lines().forEach(answers::add);
              } catch (IOException | UncheckedIOException e) {
                // Killed: that is the point.
              }
            });
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Has the child attach {@code container} under the policy in {@code policyFile}, or update it.
   */
  void attach(LabContainer container, Path policyFile) throws IOException {
    send(
        "attach "
            + container.id()
            + " "
            + IpAddresses.format(container.ipv4())
            + " "
            + IpAddresses.format(container.ipv6())
            + " "
            + IpAddresses.format(lab.gateway())
            + " "
            + policyFile);
  }

  void detach(LabContainer container) throws IOException {
    send("detach " + container.id());
  }

  private void send(String line) throws IOException {
    commands.write(line + "\n");
    commands.flush();
  }

  /** The child's next line ({@code ready}, {@code done}, {@code failed ...}), or null. */
  @Nullable String answer(long millis) throws InterruptedException {
    return answers.poll(millis, TimeUnit.MILLISECONDS);
  }

  /** SIGKILL, and waits until the child is gone (what it started may still run). */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    assertTrue(process.waitFor(10, TimeUnit.SECONDS), "the launcher did not die");
  }
}
