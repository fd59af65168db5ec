package dev.egress.testkit;

import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Predicate;

/**
 * For benchmarks that time an enforcer's operation against the bare commands it runs, side by side
 * in one run: {@link Recorder} captures the command lines and inputs of an operation, {@link #bare}
 * runs them again as a script would, {@link #alternate} runs both sides in alternating rounds, and
 * {@link #report} prints the medians and their ratios.
 */
public final class SideBySide {
  private SideBySide() {}

  /** One piece of work of the enforcer under test. */
  @FunctionalInterface
  public interface Step {
    void run() throws Exception;
  }

  /** The command lines an operation ran, and their standard inputs, in order. */
  public record Captured(List<List<String>> commands, List<String> inputs) {
    public Captured {
      commands = List.copyOf(commands);
      inputs = List.copyOf(inputs);
    }
  }

  /**
   * Runs every command through another runner and keeps each one's command line and input; it is
   * also a {@link ScaleCurve.Calls} that counts them.
   */
  public static final class Recorder implements ProcessRunner, ScaleCurve.Calls {
    private final ProcessRunner delegate;
    private final List<List<String>> commands = Collections.synchronizedList(new ArrayList<>());
    private final List<String> inputs = Collections.synchronizedList(new ArrayList<>());

    public Recorder(ProcessRunner delegate) {
      this.delegate = delegate;
    }

    @Override
    public ProcessResult run(Command command) throws IOException, InterruptedException {
      commands.add(command.argv());
      inputs.add(command.stdin());
      return delegate.run(command);
    }

    /** Runs {@code operation} and returns the commands it ran. */
    public Captured capture(Step operation) throws Exception {
      reset();
      operation.run();
      return new Captured(commands, inputs);
    }

    /**
     * Runs {@code operation} and returns how long it took, in nanoseconds.
     *
     * @throws IllegalStateException if it ran other commands or inputs than {@code expected}
     */
    public long timed(Step operation, Captured expected) throws Exception {
      reset();
      long start = System.nanoTime();
      operation.run();
      long took = System.nanoTime() - start;
      Captured now = new Captured(commands, inputs);
      if (!now.equals(expected)) {
        throw new IllegalStateException("the operation ran other commands than at first: " + now);
      }
      return took;
    }

    @Override
    public void reset() {
      commands.clear();
      inputs.clear();
    }

    @Override
    public int count() {
      return commands.size();
    }
  }

  /** One operation that times itself: how long it took, in nanoseconds. */
  @FunctionalInterface
  public interface Timed {
    long nanos() throws Exception;
  }

  /**
   * The times of {@link #alternate}'s rounds: one list per operation, in the order given, each
   * holding one time per round.
   */
  public record Rounds(List<List<Long>> library, List<List<Long>> bare) {}

  /**
   * Runs {@code runs} rounds of the library's operations and of the bare ones, each side's in the
   * order given, each side going first in every other round, so that neither gets the quieter
   * moments.
   */
  public static Rounds alternate(int runs, List<Timed> library, List<Timed> bare) throws Exception {
    List<List<Long>> libraryTimes = times(library.size());
    List<List<Long>> bareTimes = times(bare.size());
    for (int run = 0; run < runs; run++) {
      if (run % 2 == 1) {
        runAll(bare, bareTimes);
      }
      runAll(library, libraryTimes);
      if (run % 2 == 0) {
        runAll(bare, bareTimes);
      }
    }
    return new Rounds(libraryTimes, bareTimes);
  }

  private static List<List<Long>> times(int operations) {
    List<List<Long>> times = new ArrayList<>();
    for (int i = 0; i < operations; i++) {
      times.add(new ArrayList<>());
    }
    return times;
  }

  private static void runAll(List<Timed> operations, List<List<Long>> times) throws Exception {
    for (int i = 0; i < operations.size(); i++) {
      times.get(i).add(operations.get(i).nanos());
    }
  }

  /**
   * Runs {@code calls} again, one after the other, each with its recorded input on standard input
   * from a file of its own written beforehand (as the library's runner does), output discarded;
   * returns the total time in nanoseconds.
   *
   * @param mayFail the commands whose non-zero exit is expected (a deletion that finds nothing)
   * @throws IOException when any other command exits non-zero
   */
  public static long bare(Captured calls, Path scratch, Predicate<List<String>> mayFail)
      throws IOException, InterruptedException {
    List<List<String>> commands = calls.commands();
    List<String> inputs = calls.inputs();
    long total = 0;
    for (int i = 0; i < commands.size(); i++) {
      List<String> argv = commands.get(i);
      Path file = Files.writeString(scratch.resolve("input" + i), inputs.get(i));
      long start = System.nanoTime();
      Process process =
          new ProcessBuilder(argv)
              .redirectInput(file.toFile())
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      int exit = process.waitFor();
      total += System.nanoTime() - start;
      if (exit != 0 && !mayFail.test(argv)) {
        throw new IOException(String.join(" ", argv) + " exited " + exit);
      }
    }
    return total;
  }

  /** The median of {@code nanos}, in milliseconds. */
  public static double medianMillis(List<Long> nanos) {
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    int n = sorted.size();
    long middle = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    return middle / 1e6;
  }

  /**
   * Prints one line for operation {@code index} of {@code rounds}: both medians, the ratio of the
   * medians, and the median of each round's ratio.
   */
  public static void report(Rounds rounds, int index, String what, String bareWhat) {
    List<Long> library = rounds.library().get(index);
    List<Long> bare = rounds.bare().get(index);
    List<Double> ratios = new ArrayList<>();
    for (int i = 0; i < library.size(); i++) {
      ratios.add((double) library.get(i) / bare.get(i));
    }
    Collections.sort(ratios);
    double libraryMs = medianMillis(library);
    double bareMs = medianMillis(bare);
    System.out.printf(
        "  %-26s %8.1f ms   %-30s %8.1f ms   ratio of medians %.2f, median ratio %.2f%n",
        what, libraryMs, bareWhat, bareMs, libraryMs / bareMs, ratios.get(ratios.size() / 2));
  }
}
