package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** A long-running reader process: lines in order, stderr kept, close kills the tree. */
class LogProcessTest {
  @Test
  void lines_arriveInOrder_longLinesCut_andCloseKillsTheProgramAndItsChildren() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    String longLine = "x".repeat(AuditJson.MAX_LINE_LENGTH + 10);
    LogProcess process =
        LogProcess.start(
            List.of(
                "sh",
                "-c",
                "echo one; echo two; echo oops >&2; echo " + longLine + "; sleep 300 & wait"),
            lines::add);
    waitFor(() -> lines.size() == 3);
    waitFor(() -> process.diagnostics().equals("oops"));

    long start = System.nanoTime();
    process.close();

    assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 5);
    assertFalse(process.isAlive());
    assertEquals(List.of("one", "two", "x".repeat(AuditJson.MAX_LINE_LENGTH)), lines);
  }

  @Test
  void awaitDiagnostic_isTrueOnceTheLineCame_falseAtTheTimeoutOrWhenTheProgramExitedWithoutIt()
      throws Exception {
    try (LogProcess ready =
            LogProcess.start(
                List.of("sh", "-c", "echo 'listening on nflog:7' >&2; sleep 300"), line -> {});
        LogProcess silent = LogProcess.start(List.of("sleep", "300"), line -> {});
        LogProcess exited =
            LogProcess.start(List.of("sh", "-c", "echo 'permission denied' >&2"), line -> {})) {
      assertTrue(ready.awaitDiagnostic("listening on", Duration.ofSeconds(10)));
      assertFalse(silent.awaitDiagnostic("listening on", Duration.ofMillis(300)));
      assertFalse(exited.awaitDiagnostic("listening on", Duration.ofSeconds(10)));
      assertEquals("permission denied", exited.diagnostics());
    }
  }

  @Test
  void start_ofAMissingProgram_throws() {
    assertThrows(
        IOException.class, () -> LogProcess.start(List.of("/nonexistent/tcpdump"), line -> {}));
  }

  private static void waitFor(java.util.function.BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out");
      }
      Thread.sleep(10);
    }
  }
}
