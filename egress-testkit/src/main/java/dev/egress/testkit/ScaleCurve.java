package dev.egress.testkit;

import java.util.ArrayList;
import java.util.List;

/**
 * For benchmarks of how an enforcer's whole-table work grows with the number of attachments: at
 * each size, the containers up to it are attached, then {@code reconcile} and the health check are
 * timed a few times each; prints their medians, the time per attachment and the privileged calls
 * one of each made, one line per size.
 */
public final class ScaleCurve {
  private ScaleCurve() {}

  /** Attaches container {@code n}. */
  @FunctionalInterface
  public interface Attach {
    void attach(int n) throws Exception;
  }

  /**
   * The privileged calls made since the last {@link #reset} ({@link SideBySide.Recorder} is one).
   */
  public interface Calls {
    void reset();

    int count();
  }

  /** The sizes a benchmark's arguments name, or 250, 500 and 1,000 when they name none. */
  public static List<Integer> sizes(String[] args) {
    List<Integer> sizes = new ArrayList<>();
    for (String arg : args) {
      sizes.add(Integer.parseInt(arg));
    }
    return sizes.isEmpty() ? List.of(250, 500, 1000) : sizes;
  }

  /**
   * Measures at each of {@code sizes} (ascending).
   *
   * @param reconcile reconcile with every attached container live
   * @param health the health check, which throws if it found drift (nobody changed anything)
   * @param tool the privileged program's name, for the printed lines
   */
  public static void measure(
      List<Integer> sizes,
      int repeats,
      Attach attach,
      SideBySide.Step reconcile,
      SideBySide.Step health,
      Calls calls,
      String tool)
      throws Exception {
    int attached = 0;
    for (int size : sizes) {
      long attachStart = System.nanoTime();
      for (; attached < size; attached++) {
        attach.attach(attached);
      }
      double attachSeconds = (System.nanoTime() - attachStart) / 1e9;
      List<Long> reconcileTimes = new ArrayList<>();
      List<Long> healthTimes = new ArrayList<>();
      int reconcileCalls = 0;
      int healthCalls = 0;
      for (int i = 0; i < repeats; i++) {
        calls.reset();
        long start = System.nanoTime();
        reconcile.run();
        reconcileTimes.add(System.nanoTime() - start);
        reconcileCalls = calls.count();
        calls.reset();
        start = System.nanoTime();
        health.run();
        healthTimes.add(System.nanoTime() - start);
        healthCalls = calls.count();
      }
      double reconcileMs = SideBySide.medianMillis(reconcileTimes);
      double healthMs = SideBySide.medianMillis(healthTimes);
      System.out.printf(
          "  %5d attached (%.0f s to attach): reconcile %8.1f ms (%.3f ms each, %d %s calls),"
              + " health check %8.1f ms (%.3f ms each, %d %s calls)%n",
          size,
          attachSeconds,
          reconcileMs,
          reconcileMs / size,
          reconcileCalls,
          tool,
          healthMs,
          healthMs / size,
          healthCalls,
          tool);
    }
  }
}
