package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A log reader kept running: restarted after it dies, also when restarts fail for a while. */
class RestartingLogProcessTest {
  @TempDir Path dir;

  /**
   * A reader that counts its starts in a file; start 1 prints a line and dies, starts 2 and 3 fail
   * without getting ready, start 4 prints a line and stays.
   */
  private Path script() throws Exception {
    Path starts = dir.resolve("starts");
    Path script = dir.resolve("reader");
    Files.writeString(
        script,
        String.join(
            "\n",
            "#!/bin/sh",
            "echo x >> '" + starts + "'",
            "n=$(wc -l < '" + starts + "')",
            "if [ \"$n\" -eq 2 ] || [ \"$n\" -eq 3 ]; then echo 'no such device' >&2; exit 1; fi",
            "echo 'listening on test' >&2",
            "echo \"line $n\"",
            "[ \"$n\" -eq 1 ] && exit 1",
            "exec sleep 600",
            ""));
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return script;
  }

  @Test
  void aDeadReader_isStartedAgain_pastFailedStarts_andCloseStopsIt() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    RestartingLogProcess reader =
        RestartingLogProcess.start(
            List.of(script().toString()),
            lines::add,
            "listening on",
            Duration.ofSeconds(10),
            Duration.ofMillis(50),
            Duration.ofMillis(200));
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      // "line 4" is read before the supervisor counts the restart that printed it: wait for both.
      while ((lines.size() < 2 || reader.restarts() < 1) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(List.of("line 1", "line 4"), lines);
      assertEquals(1, reader.restarts(), "one restart that got ready; two that failed");
      assertTrue(reader.isRunning());
      assertTrue(String.valueOf(reader.lastFailure()).contains("no such device"));
    } finally {
      reader.close();
    }
    assertFalse(reader.isRunning());
    assertEquals(4, Files.readAllLines(dir.resolve("starts")).size(), "none started after close");
  }

  @Test
  void aFirstStartThatNeverGetsReady_fails_andBackoffsAreChecked() throws Exception {
    Path never = dir.resolve("never");
    Files.writeString(never, "#!/bin/sh\necho 'permission denied' >&2\nexit 1\n");
    Files.setPosixFilePermissions(never, PosixFilePermissions.fromString("rwx------"));
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                RestartingLogProcess.start(
                    List.of(never.toString()),
                    line -> {},
                    "listening on",
                    Duration.ofSeconds(10),
                    Duration.ofMillis(50),
                    Duration.ofMillis(200)));
    assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            RestartingLogProcess.start(
                List.of(never.toString()),
                line -> {},
                "listening on",
                Duration.ofSeconds(1),
                Duration.ofSeconds(2),
                Duration.ofSeconds(1)));
  }
}
