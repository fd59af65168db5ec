package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.render.LoadScope;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The generated pfctl wrapper in a test directory, run with bash as the test's user (root in CI),
 * in front of a pfctl that records each call's arguments and standard input, or in front of a given
 * pfctl (such as {@code FakePfctl}'s executable). Its state directory is {@code DIR/state}.
 */
final class WrapperRig {
  /** The managed networks, bridge and DNS filter of most wrapper tests. */
  static final LoadScope SCOPE =
      new LoadScope(
          List.of(IpNetwork.parse("192.168.64.0/24"), IpNetwork.parse("fd00:64::/64")),
          List.of("bridge100"),
          IpAddresses.parse("192.168.64.1"));

  /** The five lines issue 18 got through to pfctl as root. */
  static final List<String> S1_LINES =
      List.of(
          "rdr pass on en0 inet proto tcp from any to any port 443 -> 127.0.0.1 port 8443",
          "pass out quick all",
          "table <loot> persist file \"/etc/master.passwd\"",
          "include \"/var/root/.ssh/id_rsa\"",
          "load anchor \"x\" from \"/etc/sudoers\"");

  /** What a run of the wrapper returned. */
  record Run(int exit, String stderr) {}

  private final Path dir;
  private final Path wrapper;
  private final Path calls;

  /** The wrapper for {@code scope} in front of a recording pfctl. */
  WrapperRig(Path dir, LoadScope scope) throws IOException {
    this.dir = dir;
    this.calls = dir.resolve("calls");
    Path pfctl = dir.resolve("pfctl");
    Files.writeString(
        pfctl,
        """
        #!/bin/bash
        printf '%%s\\n' "$*" >> '%1$s'
        case "$*" in *"-f -") cat > '%1$s'.$(wc -l < '%1$s') ;; esac
        if [ "$1" = -E ]; then echo 'No ALTQ support in kernel' >&2; echo 'Token : 4242' >&2; fi
        exit 0
        """
            .formatted(calls));
    Files.setPosixFilePermissions(pfctl, PosixFilePermissions.fromString("rwx------"));
    this.wrapper = install(dir, pfctl, scope);
  }

  /** The wrapper for {@code scope} in front of {@code pfctl}. */
  WrapperRig(Path dir, LoadScope scope, Path pfctl) throws IOException {
    this.dir = dir;
    this.calls = dir.resolve("calls");
    this.wrapper = install(dir, pfctl, scope);
  }

  private static Path install(Path dir, Path pfctl, LoadScope scope) throws IOException {
    Path wrapper = dir.resolve("egressctl-pfctl");
    Files.writeString(
        wrapper,
        new PfctlWrapper(
                pfctl.toString(), ParentAnchor.defaults(), dir.resolve("state").toString(), scope)
            .script());
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
    return wrapper;
  }

  Path wrapper() {
    return wrapper;
  }

  Path stateDirectory() {
    return dir.resolve("state");
  }

  /** Runs the wrapper with {@code args} and nothing on standard input. */
  Run run(String... args) throws IOException, InterruptedException {
    return runWithInput("", args);
  }

  /** Runs the wrapper with {@code args} and {@code stdin}. */
  Run runWithInput(String stdin, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("bash", wrapper.toString()));
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try (OutputStream in = process.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      // The wrapper refused before reading all of it.
    }
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the wrapper did not finish");
    return new Run(process.exitValue(), stderr);
  }

  /** The argument lines the recording pfctl was called with, in order. */
  List<String> calls() throws IOException {
    return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
  }

  /** What the recording pfctl read on standard input in call {@code number} (from 1). */
  String stdinOf(int number) throws IOException {
    return Files.readString(calls.resolveSibling("calls." + number), StandardCharsets.UTF_8);
  }

  /** {@code body} as {@link Pfctl} sends it: followed by the end line. */
  static String framed(String body) {
    return body + Pfctl.END_OF_LOAD + "\n";
  }

  /** Files in the state directory whose names start with {@code prefix}. */
  List<Path> stateFiles(String prefix) throws IOException {
    if (!Files.isDirectory(stateDirectory())) {
      return List.of();
    }
    try (var files = Files.list(stateDirectory())) {
      return files.filter(f -> f.getFileName().toString().startsWith(prefix)).toList();
    }
  }
}
