package dev.egress.pf.pfctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemProcessRunnerTest {
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final SystemProcessRunner runner = new SystemProcessRunner(executor);
  @TempDir Path dir;

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  @Test
  void run_writesStdin_andCollectsBothStreams_andTheExitStatus() throws Exception {
    ProcessResult result =
        runner.run(
            List.of("sh", "-c", "cat; echo oops >&2; exit 3"), "rules\n", Duration.ofSeconds(10));
    assertEquals(new ProcessResult(3, "rules\n", "oops\n"), result);
  }

  @Test
  void run_whenTheCommandFillsBothPipesBeforeReadingStdin_doesNotDeadlock() throws Exception {
    String script =
        "head -c 300000 /dev/zero | tr '\\0' e >&2; head -c 300000 /dev/zero | tr '\\0' o;"
            + " wc -c";
    ProcessResult result =
        runner.run(List.of("sh", "-c", script), "x".repeat(200_000), Duration.ofSeconds(20));
    assertEquals(300_000, result.stderr().length());
    assertEquals("200000", result.stdout().substring(300_000).strip());
  }

  @Test
  void run_whenTheCommandHangs_killsItAndItsDescendantsAtTheTimeout() throws Exception {
    Path pids = dir.resolve("pids");
    String script = "sleep 300 & echo $! > " + pids + "; echo $$ >> " + pids + "; wait";
    assertThrows(
        ProcessTimeoutException.class,
        () -> runner.run(List.of("sh", "-c", script), "", Duration.ofMillis(700)));
    List<String> started = Files.readAllLines(pids);
    assertEquals(2, started.size());
    for (String pid : started) {
      assertFalse(
          ProcessHandle.of(Long.parseLong(pid.strip())).map(ProcessHandle::isAlive).orElse(false),
          "process " + pid + " survived the timeout");
    }
  }

  @Test
  void run_whenTheProgramDoesNotExist_throwsIoException() {
    java.io.IOException e =
        assertThrows(
            java.io.IOException.class,
            () ->
                runner.run(
                    List.of(dir.resolve("no-such-pfctl").toString()), "", Duration.ofSeconds(5)));
    assertTrue(e.getMessage().contains("no-such-pfctl"), e.getMessage());
  }
}
