package dev.egress.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProcessResultTest {
  @Test
  void summary_isTheExitStatusAndTheFirstLineOfStderr() {
    assertEquals(
        "exited with 1: no such container",
        new ProcessResult(1, "out\n", "\n  no such container \nmore\n").summary());
    assertEquals("exited with 2", new ProcessResult(2, "only stdout\n", "").summary());
  }

  @Test
  void result_withNegativeDroppedCounts_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> new ProcessResult(0, "", "", -1, 0));
  }

  @Test
  void stdoutComplete_isFalseOnceBytesWereDropped() {
    assertTrue(new ProcessResult(0, "x", "", 0, 5).stdoutComplete());
    assertEquals(false, new ProcessResult(0, "x", "", 1, 0).stdoutComplete());
  }
}
