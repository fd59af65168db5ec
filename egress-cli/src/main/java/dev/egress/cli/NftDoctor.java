package dev.egress.cli;

import dev.egress.enforcer.EgressException;
import dev.egress.nftables.NftBackend;
import dev.egress.policy.UserText;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.ProcessStartException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The nftables host checks: the tools run, and the enforcer's table is as it loads it. Read-only.
 */
final class NftDoctor {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  /** Where distributions install nft and conntrack: on root's PATH, often not on a user's. */
  static final List<Path> SYSTEM_DIRECTORIES =
      List.of(Path.of("/usr/local/sbin"), Path.of("/usr/sbin"), Path.of("/sbin"));

  private final ProcessRunner processes;
  private final NftOptions options;
  private final NftBackend backend;
  private final List<Path> systemDirectories;

  NftDoctor(ProcessRunner processes, NftOptions options, NftBackend backend) {
    this(processes, options, backend, SYSTEM_DIRECTORIES);
  }

  /**
   * @param backend the table as the enforcer loads it, to compare the kernel's with
   * @param systemDirectories where to look for a tool that is not on the PATH, to tell "not
   *     installed" from "not on this user's PATH"
   */
  NftDoctor(
      ProcessRunner processes,
      NftOptions options,
      NftBackend backend,
      List<Path> systemDirectories) {
    this.processes = processes;
    this.options = options;
    this.backend = backend;
    this.systemDirectories = List.copyOf(systemDirectories);
  }

  List<Finding> check() throws InterruptedException {
    List<Finding> findings = new ArrayList<>();
    List<String> nftWords = options.nftWords();
    ProcessResult nft;
    try {
      nft = run(withArgs(nftWords, "--version"));
    } catch (ProcessStartException e) {
      findings.add(notStarted("nft", nftWords, "--nft-command", "nftables", e));
      return findings;
    }
    if (nft.exitCode() != 0) {
      findings.add(
          Finding.fail(
              "nft",
              "nft does not run: " + firstLine(nft.stderr()),
              "install nftables (Debian/Ubuntu: apt-get install nftables)"));
      return findings;
    }
    findings.add(Finding.ok("nft", firstLine(nft.stdout())));
    List<String> conntrackWords = options.conntrackWords();
    try {
      ProcessResult conntrack = run(withArgs(conntrackWords, "--version"));
      findings.add(
          conntrack.exitCode() == 0
              ? Finding.ok("conntrack", firstLine(conntrack.stdout() + conntrack.stderr()))
              : Finding.fail(
                  "conntrack",
                  "conntrack does not run: detach could not cut open connections",
                  "install conntrack (Debian/Ubuntu: apt-get install conntrack)"));
    } catch (ProcessStartException e) {
      findings.add(notStarted("conntrack", conntrackWords, "--conntrack-command", "conntrack", e));
    }
    try {
      List<String> problems = backend.hostProblems();
      if (problems.isEmpty()) {
        findings.add(
            Finding.ok(
                "table", "table inet " + options.table() + " is loaded as the enforcer loads it"));
      } else if (problems.size() == 1 && problems.get(0).contains(" is missing: ")) {
        findings.add(
            Finding.ok(
                "table",
                "table inet "
                    + options.table()
                    + " is not loaded yet; the"
                    + " enforcer creates it before its first attach"));
      } else {
        for (String problem : problems) {
          findings.add(
              Finding.fail(
                  "table",
                  problem,
                  "let the enforcer repair it (its health check re-runs prepare), or restart the launcher"));
        }
      }
    } catch (EgressException e) {
      findings.add(Finding.failure("table", e, "run egressctl as root (nft needs CAP_NET_ADMIN)"));
    }
    return findings;
  }

  private static List<String> withArgs(List<String> command, String arg) {
    List<String> full = new ArrayList<>(command);
    full.add(arg);
    return full;
  }

  private static String firstLine(String text) {
    String stripped = text.strip();
    int newline = stripped.indexOf('\n');
    return newline < 0 ? stripped : stripped.substring(0, newline);
  }

  /**
   * What to say when the command of {@code tool} could not be started: a tool that is installed in
   * a system directory off this user's PATH is not "missing".
   */
  private Finding notStarted(
      String tool, List<String> words, String option, String debianPackage, Exception e) {
    String program = words.get(0);
    if (program.equals(tool)) {
      for (Path directory : systemDirectories) {
        Path installed = directory.resolve(tool);
        if (Files.isExecutable(installed)) {
          return Finding.fail(
              tool,
              tool
                  + " is installed at "
                  + installed
                  + ", but "
                  + directory
                  + " is not on this user's PATH (many distributions put it on root's PATH"
                  + " only)",
              "run egressctl as root ("
                  + tool
                  + " needs root or CAP_NET_ADMIN anyway), or pass "
                  + option
                  + " "
                  + installed
                  + " (through sudo: "
                  + option
                  + " 'sudo -n "
                  + installed
                  + "')");
        }
      }
    }
    boolean ours = Path.of(program).getFileName().toString().equals(tool);
    return Finding.fail(
        tool,
        UserText.quote(program) + " could not be started: " + e.getMessage(),
        ours
            ? "install " + debianPackage + " (Debian/Ubuntu: apt-get install " + debianPackage + ")"
            : "check " + option + ": its first word must be a program that exists");
  }

  /**
   * @throws ProcessStartException if the program could not be started
   */
  private ProcessResult run(List<String> command)
      throws ProcessStartException, InterruptedException {
    try {
      return processes.run(new Command(command, TIMEOUT));
    } catch (ProcessStartException e) {
      throw e;
    } catch (IOException e) {
      return new ProcessResult(127, "", String.valueOf(e.getMessage()));
    }
  }
}
