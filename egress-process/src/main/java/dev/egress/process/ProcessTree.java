package dev.egress.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kills a process with its descendants and waits, bounded, until they are gone. See {@link
 * SystemProcessRunner} for the order of signals and what it cannot reach.
 */
final class ProcessTree {
  private static final long POLL_MILLIS = 10;

  /** Whether this JVM runs as root, and so may signal every process. */
  private static final boolean IS_ROOT =
      ProcessHandle.current().info().user().map("root"::equals).orElse(false);

  private ProcessTree() {}

  /**
   * SIGKILL to the process and every descendant. As root, parents before children. Otherwise
   * children before parents: a member that may not be signalled (a root process under sudo) makes
   * its ancestors get SIGTERM instead, which sudo relays to the command it started; they get {@code
   * relayGrace} to end, then SIGKILL. Then up to {@code killWait} for the tree to be gone, killing
   * whatever it started meanwhile. Finishes even when the calling thread is interrupted, whose flag
   * it then sets again.
   *
   * @return the members still alive when it gave up; empty when the whole tree is gone
   */
  static List<ProcessHandle> kill(Process process, Duration relayGrace, Duration killWait) {
    boolean interrupted = Thread.interrupted();
    try {
      // Listed before anything dies: an orphan is no longer anyone's descendant.
      List<ProcessHandle> childrenFirst = new ArrayList<>();
      Map<ProcessHandle, ProcessHandle> parents = new HashMap<>();
      listChildrenFirst(process.toHandle(), childrenFirst, parents);
      // SIGKILL, not SIGTERM, wherever allowed: a program that handles SIGTERM could still finish
      // what it was doing (commit a transaction) after the caller was told it was stopped.
      Set<ProcessHandle> relays = new HashSet<>();
      if (IS_ROOT) {
        // Parents first: no parent sees a child die and acts on it before its own SIGKILL.
        for (int i = childrenFirst.size() - 1; i >= 0; i--) {
          childrenFirst.get(i).destroyForcibly();
        }
      } else {
        // Children first, to learn which processes may not be signalled before their parents die.
        for (ProcessHandle member : childrenFirst) {
          boolean signalled = relays.contains(member) ? member.destroy() : member.destroyForcibly();
          if (!signalled && !isGone(member)) {
            for (ProcessHandle up = parents.get(member); up != null; up = parents.get(up)) {
              relays.add(up);
            }
          }
        }
      }
      Set<ProcessHandle> tree = new LinkedHashSet<>(childrenFirst);
      if (!relays.isEmpty()) {
        interrupted |= awaitGone(tree, relayGrace, false);
      }
      interrupted |= awaitGone(tree, killWait, true);
      return living(tree);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void listChildrenFirst(
      ProcessHandle member, List<ProcessHandle> out, Map<ProcessHandle, ProcessHandle> parents) {
    for (ProcessHandle child : member.children().toList()) {
      parents.put(child, member);
      listChildrenFirst(child, out, parents);
    }
    out.add(member);
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
