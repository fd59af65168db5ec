package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.nftables.NftBackend;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.ProcessStartException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The nftables doctor tells a tool that is missing from one that is off this user's PATH. */
class NftDoctorTest {
  @TempDir Path sbin;

  /** Runs nft and conntrack as a user whose PATH lacks {@code missing}. */
  private static ProcessResult userWithout(Set<String> missing, Command command)
      throws IOException {
    if (missing.contains(command.program())) {
      throw new ProcessStartException(
          command,
          Duration.ZERO,
          new IOException(
              "Cannot run program \"" + command.program() + "\": error=2, No such file"));
    }
    if (command.argv().contains("--version")) {
      return new ProcessResult(0, command.program() + " v1\n", "");
    }
    return new ProcessResult(1, "", "Error: No such file or directory\n");
  }

  private void installed(String tool) throws IOException {
    Path file = Files.writeString(sbin.resolve(tool), "#!/bin/sh\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @Test
  void nftInstalledOffThePath_isReportedAsSuch_notAsMissing() throws Exception {
    installed("nft");
    List<Finding> findings = doctor(command -> userWithout(Set.of("nft"), command)).check();

    Finding nft = findings.get(0);
    assertEquals(Finding.Severity.FAIL, nft.severity());
    assertTrue(nft.message().contains("installed at " + sbin.resolve("nft")), nft.message());
    assertTrue(nft.message().contains("not on this user's PATH"), nft.message());
    assertTrue(nft.fix().contains("--nft-command " + sbin.resolve("nft")), nft.fix());
    assertTrue(nft.fix().contains("as root"), nft.fix());
    assertFalse(nft.fix().contains("install"), nft.fix());
  }

  @Test
  void conntrackInstalledOffThePath_isReportedAsSuch() throws Exception {
    installed("conntrack");
    List<Finding> findings = doctor(command -> userWithout(Set.of("conntrack"), command)).check();

    Finding conntrack =
        findings.stream().filter(f -> f.check().equals("conntrack")).findFirst().orElseThrow();
    assertEquals(Finding.Severity.FAIL, conntrack.severity());
    assertTrue(conntrack.fix().contains("--conntrack-command " + sbin.resolve("conntrack")));
  }

  @Test
  void nftInstalledNowhere_isReportedMissing_withThePackage() throws Exception {
    List<Finding> findings = doctor(command -> userWithout(Set.of("nft"), command)).check();

    assertEquals(1, findings.size(), findings.toString());
    assertTrue(findings.get(0).fix().contains("apt-get install nftables"), findings.toString());
  }

  /** A doctor with the default options, running commands through {@code processes}. */
  private NftDoctor doctor(ProcessRunner processes) {
    NftOptions options = new NftOptions();
    return new NftDoctor(
        processes,
        options,
        new NftBackend(options.command(processes), options.table(), options.guard()),
        List.of(sbin));
  }
}
