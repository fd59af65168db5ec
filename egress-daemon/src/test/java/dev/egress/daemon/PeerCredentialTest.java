package dev.egress.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.NetnsLab;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The peer check with a real other user: a client run as uid/gid 65534 (nobody/nogroup) through
 * {@code setpriv} reaches the socket (its group may open it) and is refused by the daemon, unless
 * the configuration allows its group. Needs root and setpriv: skipped elsewhere, failed under
 * {@code CI=true}.
 */
class PeerCredentialTest {
  private static final String NOBODY = "65534";

  Path directory;
  TestDaemon daemon;

  @BeforeEach
  void requireRoot() throws IOException {
    Optional<String> reason = NetnsLab.unavailableReason("setpriv");
    if (reason.isPresent()) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        Assertions.fail("CI=true and the peer-credential test cannot run here: " + reason.get());
      }
      Assumptions.abort("peer-credential test skipped: " + reason.get());
    }
    // Another user must be able to reach the socket: a directory of our own that others may enter.
    directory = Files.createTempDirectory("egressd-peer-");
    Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
    try (InputStream probe = getClass().getResourceAsStream("PeerProbe.java")) {
      Files.write(directory.resolve("PeerProbe.java"), probe.readAllBytes());
    }
  }

  @AfterEach
  void stop() throws IOException {
    if (daemon != null) {
      daemon.close();
    }
    if (directory != null) {
      try (Stream<Path> files = Files.walk(directory)) {
        for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(file);
        }
      }
    }
  }

  /** Runs the probe as uid and gid 65534 with no supplementary groups; returns what it printed. */
  private String probeAsNobody(String mode) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                "setpriv",
                "--reuid=" + NOBODY,
                "--regid=" + NOBODY,
                "--clear-groups",
                ProcessHandle.current().info().command().orElse("java"),
                "-XX:-UsePerfData",
                directory.resolve("PeerProbe.java").toString(),
                daemon.socket.toString(),
                mode));
    Process probe = new ProcessBuilder(command).redirectErrorStream(true).start();
    assertTrue(probe.waitFor(60, TimeUnit.SECONDS), "the probe finished");
    String output = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, probe.exitValue(), output);
    return output;
  }

  @Test
  void aClientRunningAsAnotherUser_isRefused_beforeAnyCommandRuns() throws Exception {
    daemon = TestDaemon.start(directory, "socket-group " + NOBODY + "\nallow-users root\n");

    String output = probeAsNobody("to-end");

    String[] lines = output.split("\n");
    assertEquals(2, lines.length, output);
    assertTrue(
        lines[0].startsWith("{\"id\":null,\"ok\":false,\"error\":{\"code\":\"permission-denied\","),
        output);
    assertTrue(lines[0].contains("user nobody (group nogroup) may not use egressd"), output);
    assertEquals("<closed>", lines[1]);
    assertEquals(0, daemon.daemon.toString().isEmpty() ? 1 : 0);
  }

  @Test
  void aClientWhoseGroupIsAllowed_isServed() throws Exception {
    daemon =
        TestDaemon.start(directory, "socket-group " + NOBODY + "\nallow-groups " + NOBODY + "\n");

    String output = probeAsNobody("first-line");

    assertTrue(output.startsWith("{\"id\":1,\"ok\":true,\"data\":{\"protocol\":1,"), output);
    assertTrue(output.endsWith("<open>\n"), output);
  }

  @Test
  void withOwnerOnlyMode_anotherUserCannotEvenOpenTheSocket() throws Exception {
    daemon = TestDaemon.start(directory, "socket-mode 0600\nallow-groups " + NOBODY + "\n");

    Process probe =
        new ProcessBuilder(
                "setpriv",
                "--reuid=" + NOBODY,
                "--regid=" + NOBODY,
                "--clear-groups",
                ProcessHandle.current().info().command().orElse("java"),
                "-XX:-UsePerfData",
                directory.resolve("PeerProbe.java").toString(),
                daemon.socket.toString(),
                "to-end")
            .redirectErrorStream(true)
            .start();
    assertTrue(probe.waitFor(60, TimeUnit.SECONDS));
    String output = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertTrue(probe.exitValue() != 0, output);
    assertTrue(output.contains("Permission denied"), output);
  }
}
