package dev.egress.examples.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.NetnsLab;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The README's demo: real probes where the lab can run, the rules it would load elsewhere. */
class DemoTest {
  @Test
  void demo_exitsZero_andEveryProbeMatches_orPrintsTheRulesWhereItCannotRun() throws Exception {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    int status;
    try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
      status = Demo.run(out, false);
    }
    String output = buffer.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, output);
    boolean canRun = NetnsLab.unavailableReason("nft", "conntrack", "tcpdump").isEmpty();
    if (canRun) {
      assertTrue(output.contains("All probes matched the policy."), output);
      assertTrue(
          output.contains("tcp api.anthropic.com:443                      allowed   allowed"),
          output);
      assertFilterRows(output);
      assertTrue(output.contains("The audit trail recorded"), output);
      assertTrue(output.contains("guard-unattached"), output);
    } else if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      Assertions.fail("CI=true and the demo cannot run here:\n" + output);
    } else {
      assertTrue(output.contains("Not enforcing here:"), output);
      assertTrue(output.contains("table inet egress {"), output);
    }
  }

  @Test
  void demoOnDocker_exitsZero_andEveryProbeMatches_whereDockerRuns() throws Exception {
    Optional<String> noDocker = DockerDemo.unavailableReason();
    if (noDocker.isPresent()) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        Assertions.fail("CI=true and the Docker demo cannot run here: " + noDocker.get());
      }
      Assumptions.abort("Docker demo skipped: " + noDocker.get());
    }
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    int status;
    try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
      status = Demo.run(out, true);
    }
    String output = buffer.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, output);
    assertTrue(output.contains("Docker is available: probing a real Docker container."), output);
    assertTrue(output.contains("All probes matched the policy."), output);
    assertTrue(
        output.contains("tcp api.anthropic.com:443                      allowed   allowed"),
        output);
    assertTrue(
        output.contains("tcp api.anthropic.com:80                       refused   refused"),
        output);
    // The filter's three cases, as in the lab, plus Docker's own resolver forwarding to --dns.
    assertFilterRows(output);
    assertTrue(
        output.contains("dns api.anthropic.com @127.0.0.11 + tcp 443    allowed   allowed"),
        output);
  }

  /**
   * The filter's three cases: an allowed name, a wildcard's sub-domain, a refused name, also asked
   * of another resolver (the table's expectations come from the policy; these pin that the policy
   * still has them).
   */
  private static void assertFilterRows(String output) {
    for (String row :
        List.of(
            "dns api.anthropic.com + tcp 443                allowed   allowed",
            "dns raw.githubusercontent.com + tcp 443        allowed   allowed",
            "dns registry.npmjs.org + tcp 443               refused   refused",
            "dns registry.npmjs.org @10.99.0.54 + tcp 443   refused   refused")) {
      assertTrue(output.contains(row), row + "\n" + output);
    }
  }
}
