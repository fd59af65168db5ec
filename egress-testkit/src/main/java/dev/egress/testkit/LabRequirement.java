package dev.egress.testkit;

import dev.egress.lab.NetnsLab;
import java.io.IOException;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Starts a {@link NetnsLab} (egress-lab) for a JUnit test: the JUnit face of the lab, which itself
 * needs no test framework. Where the lab cannot run (not Linux, not root, a command missing) the
 * test is skipped with the reason — unless the environment variable {@code CI} is {@code true}:
 * then it fails, so that a CI run never passes with the real-kernel suite silently skipped. A lab
 * that should run but does not start is always a failure.
 */
public final class LabRequirement {
  private LabRequirement() {}

  /**
   * @param containers container namespaces to create
   * @param commands commands the test needs besides {@code ip}, such as {@code nft}
   */
  public static NetnsLab startLab(int containers, String... commands) throws IOException {
    Optional<String> reason = NetnsLab.unavailableReason(commands);
    if (reason.isPresent()) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        Assertions.fail("CI=true and the real-kernel suite cannot run here: " + reason.get());
      }
      Assumptions.abort("real-kernel test skipped: " + reason.get());
    }
    return NetnsLab.start(containers);
  }
}
