package dev.egress.cli;

import dev.egress.enforcer.EgressException;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The nftables host checks: the tools run, and the enforcer's table is as it loads it. Read-only.
 */
final class NftDoctor {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final ProcessRunner processes;
  private final NftOptions options;

  NftDoctor(ProcessRunner processes, NftOptions options) {
    this.processes = processes;
    this.options = options;
  }

  List<Finding> check() throws InterruptedException {
    List<Finding> findings = new ArrayList<>();
    ProcessResult nft = run(withArgs(options.nftWords(), "--version"));
    if (nft.exitCode() != 0) {
      findings.add(
          Finding.fail(
              "nft",
              "nft does not run: " + firstLine(nft.stderr()),
              "install nftables (Debian/Ubuntu: apt-get install nftables)"));
      return findings;
    }
    findings.add(Finding.ok("nft", firstLine(nft.stdout())));
    ProcessResult conntrack = run(withArgs(options.conntrackWords(), "--version"));
    findings.add(
        conntrack.exitCode() == 0
            ? Finding.ok("conntrack", firstLine(conntrack.stdout() + conntrack.stderr()))
            : Finding.fail(
                "conntrack",
                "conntrack does not run: detach could not cut open connections",
                "install conntrack (Debian/Ubuntu: apt-get install conntrack)"));
    try {
      List<String> problems = options.backend(processes).hostProblems();
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

  private ProcessResult run(List<String> command) throws InterruptedException {
    try {
      return processes.run(new Command(command, TIMEOUT));
    } catch (IOException e) {
      return new ProcessResult(127, "", String.valueOf(e.getMessage()));
    }
  }
}
