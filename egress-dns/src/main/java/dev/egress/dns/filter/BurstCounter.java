package dev.egress.dns.filter;

import dev.egress.enforcer.ContainerId;
import dev.egress.policy.HostName;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts the different names a container asks for under each wildcard in fixed windows, and says
 * when a window's count reaches the threshold (once per window). Memory per container and wildcard
 * is at most {@code threshold} names. Thread-safe.
 */
final class BurstCounter {
  /** Above this many windows, ended ones (of detached containers too) are dropped. */
  private static final int MAX_WINDOWS = 10_000;

  private final int threshold;
  private final Duration window;
  private final Map<Key, Window> windows = new ConcurrentHashMap<>();

  private record Key(ContainerId container, HostName wildcard) {}

  private static final class Window {
    final Instant start;
    final Set<HostName> names = new HashSet<>();
    boolean reported;

    Window(Instant start) {
      this.start = start;
    }
  }

  BurstCounter(int threshold, Duration window) {
    if (threshold < 1) {
      throw new IllegalArgumentException("burst threshold must be at least 1: " + threshold);
    }
    if (window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("burst window must be positive: " + window);
    }
    this.threshold = threshold;
    this.window = window;
  }

  int threshold() {
    return threshold;
  }

  Duration window() {
    return window;
  }

  /**
   * Records that {@code container} asked for {@code asked} under {@code wildcard} at {@code now};
   * returns the window's count when this query makes it reach the threshold, 0 otherwise.
   */
  int record(ContainerId container, HostName wildcard, HostName asked, Instant now) {
    if (windows.size() > MAX_WINDOWS) {
      windows.values().removeIf(old -> !now.isBefore(old.start.plus(window)));
    }
    Key key = new Key(container, wildcard);
    Window current =
        windows.compute(
            key,
            (k, old) ->
                old == null || !now.isBefore(old.start.plus(window)) ? new Window(now) : old);
    synchronized (current) {
      if (current.reported || !current.names.add(asked) || current.names.size() < threshold) {
        return 0;
      }
      current.reported = true;
      int count = current.names.size();
      current.names.clear(); // reported: the window only waits for its end now
      return count;
    }
  }
}
