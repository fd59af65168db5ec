package dev.egress.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The pids that test scripts write to a file, one a line, so that a test can check with {@link
 * ProcessHandle} that nothing of a killed tree survived; {@link #killAll} ends whatever a failing
 * test left running.
 */
final class WrittenPids {
  private final Path file;
  private final List<Long> seen = new ArrayList<>();

  WrittenPids(Path file) {
    this.file = file;
  }

  /** The file the scripts write to. */
  Path file() {
    return file;
  }

  /** The pids written, once there are {@code count}; waits up to 30 s for the processes. */
  List<Long> await(int count) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      List<Long> pids = new ArrayList<>();
      if (Files.exists(file)) {
        for (String line : Files.readAllLines(file)) {
          if (!line.isBlank()) {
            pids.add(Long.parseLong(line.strip()));
          }
        }
      }
      if (pids.size() >= count || System.nanoTime() > deadline) {
        seen.addAll(pids);
        assertEquals(count, pids.size(), "pids written: " + pids);
        return pids;
      }
      Thread.sleep(10);
    }
  }

  /** Sends SIGKILL to every pid {@link #await} returned. */
  void killAll() {
    seen.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
  }

  /**
   * Gone: no such process, or a zombie (dead, waiting for its new parent to reap it; this machine's
   * init reaps orphans about once a second, and ProcessHandle reports zombies alive).
   */
  static boolean gone(long pid) {
    if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
      try {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
      } catch (IOException e) {
        return !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
      }
    }
    return true;
  }

  static void assertAllGone(List<Long> pids) {
    for (long pid : pids) {
      assertTrue(gone(pid), "process " + pid + " survived");
    }
  }
}
