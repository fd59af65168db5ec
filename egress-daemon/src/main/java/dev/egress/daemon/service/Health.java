package dev.egress.daemon.service;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * What needs an operator's attention now, as {@code status} reports it: each problem under a key of
 * the check that found it ({@code drift:...}, {@code policy:NAME}, {@code state}, ...), replaced or
 * cleared when that check runs again. Thread-safe.
 */
final class Health {
  /** One problem and how to fix it. */
  record Problem(String what, String fix) {
    Problem {
      Objects.requireNonNull(what, "what");
      Objects.requireNonNull(fix, "fix");
    }
  }

  private final ConcurrentSkipListMap<String, Problem> problems = new ConcurrentSkipListMap<>();

  void set(String key, Problem problem) {
    problems.put(key, problem);
  }

  void clear(String key) {
    problems.remove(key);
  }

  /** Replaces every problem whose key starts with {@code prefix} by {@code found}. */
  synchronized void replace(String prefix, Map<String, Problem> found) {
    problems.keySet().removeIf(key -> key.startsWith(prefix));
    problems.putAll(found);
  }

  /** The problems, ordered by key. */
  List<Problem> problems() {
    return List.copyOf(problems.values());
  }
}
