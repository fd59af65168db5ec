package dev.egress.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Kills a process with its descendants and waits, bounded, until they are gone. See {@link
 * SystemProcessRunner} for the order of signals and what it cannot reach.
 */
final class ProcessTree {
  private static final long POLL_MILLIS = 10;

  private ProcessTree() {}

  /**
   * SIGTERM to the process and every descendant, up to {@code termGrace} for them to exit, then
   * SIGKILL to whatever lives (and whatever it started meanwhile), up to {@code killWait} more.
   * Finishes even when the calling thread is interrupted, whose flag it then sets again.
   *
   * @return the members still alive when it gave up; empty when the whole tree is gone
   */
  static List<ProcessHandle> kill(Process process, Duration termGrace, Duration killWait) {
    boolean interrupted = Thread.interrupted();
    try {
      Set<ProcessHandle> tree = new LinkedHashSet<>();
      tree.add(process.toHandle());
      // Listed before anything dies: an orphan is no longer anyone's descendant.
      process.descendants().forEach(tree::add);
      // SIGTERM first: sudo relays it to the command it runs as root, which a caller that is not
      // root may not signal itself; a SIGKILL of sudo would relay nothing.
      tree.forEach(ProcessHandle::destroy);
      interrupted |= awaitGone(tree, termGrace, false);
      interrupted |= awaitGone(tree, killWait, true);
      return tree.stream().filter(member -> !isGone(member)).toList();
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Polls until every member is gone or {@code wait} has passed; {@code forcibly}, each poll first
   * adds the descendants of living members to the tree and sends SIGKILL to every living member.
   *
   * @return whether the thread was interrupted meanwhile
   */
  private static boolean awaitGone(Set<ProcessHandle> tree, Duration wait, boolean forcibly) {
    boolean interrupted = false;
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      List<ProcessHandle> alive = living(tree);
      if (alive.isEmpty()) {
        return interrupted;
      }
      if (forcibly) {
        alive.forEach(member -> member.descendants().forEach(tree::add));
        living(tree).forEach(ProcessHandle::destroyForcibly);
      }
      if (System.nanoTime() - deadline >= 0) {
        return interrupted;
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
  }

  private static List<ProcessHandle> living(Set<ProcessHandle> tree) {
    List<ProcessHandle> alive = new ArrayList<>();
    for (ProcessHandle member : tree) {
      if (!isGone(member)) {
        alive.add(member);
      }
    }
    return alive;
  }

  /**
   * Whether the process has ended. A zombie (dead, not yet reaped by its new parent; on Linux
   * {@code /proc/PID/stat} says {@code Z}) has ended too, though {@link ProcessHandle#isAlive}
   * still reports it: it holds no resources and runs no code, and when init reaps it is not ours.
   */
  static boolean isGone(ProcessHandle process) {
    if (!process.isAlive()) {
      return true;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
      int afterName = stat.lastIndexOf(')');
      char state =
          afterName >= 0 && afterName + 2 < stat.length() ? stat.charAt(afterName + 2) : '?';
      return state == 'Z' || state == 'X';
    } catch (IOException e) {
      // No /proc (macOS), or the process was reaped just now: isAlive() decides.
      return !process.isAlive();
    }
  }

  /**
   * One line per process for messages: pid, user and program as far as the system tells, never the
   * arguments (they may carry secrets).
   */
  static String describe(List<ProcessHandle> processes) {
    List<String> lines = new ArrayList<>();
    for (ProcessHandle process : processes) {
      ProcessHandle.Info info = process.info();
      lines.add(
          "pid "
              + process.pid()
              + " ("
              + info.user().orElse("unknown user")
              + ": "
              + info.command().orElse("unknown program")
              + ")");
    }
    return String.join(", ", lines);
  }
}
