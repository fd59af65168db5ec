package dev.egress.cli;

import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.testkit.pf.FakePfctl;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The programs egressctl runs on a Mac, in process: pfctl (through sudo or not) is the testkit's
 * FakePfctl; sudo's answers to {@code -l}, the container networks and pflog0 are scripted.
 */
final class FakeHost implements ProcessRunner {
  final FakePfctl pf = new FakePfctl();

  /** The pfctl argument lines sudo -l allows; null allows every one. */
  private @org.jspecify.annotations.Nullable Set<String> sudoAllows;

  private final Set<String> networks = new HashSet<>();
  private boolean pflog;
  private boolean sudoNeedsPassword;
  final List<List<String>> commands = new ArrayList<>();

  FakeHost sudoAllowsEverything() {
    sudoAllows = null;
    return this;
  }

  /** sudo -l allows exactly these pfctl argument lines ("PROGRAM ARGS"). */
  FakeHost sudoAllowsOnly(Set<String> lines) {
    sudoAllows = Set.copyOf(lines);
    return this;
  }

  FakeHost sudoNeedsPassword() {
    sudoNeedsPassword = true;
    return this;
  }

  FakeHost network(String name) {
    networks.add(name);
    return this;
  }

  FakeHost pflog() {
    pflog = true;
    return this;
  }

  @Override
  public synchronized ProcessResult run(Command run) throws IOException {
    List<String> command = run.argv();
    String stdin = run.stdin();
    commands.add(List.copyOf(command));
    String program = command.get(0);
    if (program.equals("sudo") && command.size() > 2 && command.get(2).equals("-l")) {
      String asked = String.join(" ", command.subList(3, command.size()));
      boolean allowed = !sudoNeedsPassword && (sudoAllows == null || sudoAllows.contains(asked));
      return allowed
          ? new ProcessResult(0, command.get(3) + "\n", "")
          : new ProcessResult(1, "", sudoNeedsPassword ? "sudo: a password is required\n" : "");
    }
    if (program.equals("sudo") && sudoNeedsPassword) {
      return new ProcessResult(1, "", "sudo: a password is required\n");
    }
    if (program.equals("sudo") || program.endsWith("pfctl")) {
      // sudo -n PROGRAM ARGS, or PROGRAM ARGS: the program may be a wrapper, so strip it by
      // position.
      int programIndex = program.equals("sudo") ? 2 : 0;
      List<String> argv = new ArrayList<>(List.of("pfctl"));
      argv.addAll(command.subList(programIndex + 1, command.size()));
      FakePfctl.Result result = pf.execute(argv, stdin);
      return new ProcessResult(result.exitCode(), result.stdout(), result.stderr());
    }
    if (command.equals(List.of("ifconfig", "pflog0"))) {
      return pflog
          ? new ProcessResult(0, "pflog0: flags=141<UP,RUNNING,PROMISC> mtu 33160\n", "")
          : new ProcessResult(1, "", "ifconfig: interface pflog0 does not exist\n");
    }
    if (command.size() == 4
        && command.subList(0, 3).equals(List.of("container", "network", "inspect"))) {
      return networks.contains(command.get(3))
          ? new ProcessResult(0, "[{\"id\":\"" + command.get(3) + "\"}]\n", "")
          : new ProcessResult(1, "", "Error: network " + command.get(3) + " not found\n");
    }
    throw new IOException("FakeHost has no " + program);
  }
}
