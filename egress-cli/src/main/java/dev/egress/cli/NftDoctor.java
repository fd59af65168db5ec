package dev.egress.cli;

import dev.egress.pf.pfctl.ProcessResult;
import dev.egress.pf.pfctl.ProcessRunner;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The nftables host checks. Read-only. */
final class NftDoctor {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final ProcessRunner processes;

  NftDoctor(ProcessRunner processes) {
    this.processes = processes;
  }

  List<Finding> check() throws InterruptedException {
    List<Finding> findings = new ArrayList<>();
    ProcessResult nft = run(List.of("nft", "--version"));
    findings.add(nft.exitCode() == 0
        ? Finding.ok("nft", nft.stdout().strip())
        : Finding.fail("nft", "nft is not installed or does not run",
            "install nftables (Debian/Ubuntu: apt-get install nftables)"));
    ProcessResult conntrack = run(List.of("conntrack", "--version"));
    findings.add(conntrack.exitCode() == 0
        ? Finding.ok("conntrack", conntrack.stdout().strip() + conntrack.stderr().strip())
        : Finding.fail("conntrack", "conntrack is not installed: detach cannot cut open connections",
            "install conntrack (Debian/Ubuntu: apt-get install conntrack)"));
    return findings;
  }

  private ProcessResult run(List<String> command) throws InterruptedException {
    try {
      return processes.run(command, "", TIMEOUT);
    } catch (IOException e) {
      return new ProcessResult(127, "", String.valueOf(e.getMessage()));
    }
  }
}
