package dev.egress.dns;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The subscriptions of one resolver, and the one place that tells them about changes.
 *
 * <p>A change of a name reaches every subscription watching it as a listener call on the executor
 * with the {@link #current} resolutions of all its names, computed when the call is made, so a call
 * never shows addresses older than the change that caused it. Changes that arrive while a call is
 * pending or running are merged into one later call; calls of one subscription never overlap, so
 * each sees newer addresses than the one before. A listener that throws is logged and called again
 * on the next change. Thread-safe.
 */
final class Subscribers {
  private static final Logger log = LoggerFactory.getLogger(Subscribers.class);

  private final Executor executor;
  private final Function<Set<HostName>, Resolutions> current;

  /**
   * The watches of each name; names without any are absent. A name's set changes only inside the
   * map's atomic compute for that name, so a watch is never added to a set just dropped.
   */
  private final ConcurrentHashMap<HostName, Set<Watch>> byName = new ConcurrentHashMap<>();

  private volatile boolean closed;

  /**
   * @param executor where listener calls run; must not run them on the submitting thread
   * @param current the resolutions of some names now
   */
  Subscribers(Executor executor, Function<Set<HostName>, Resolutions> current) {
    this.executor = executor;
    this.current = current;
  }

  /** Registers {@code listener} for changes of {@code names}. */
  NameResolver.Subscription add(Set<HostName> names, NameResolver.Listener listener) {
    Watch watch = new Watch(Set.copyOf(names), listener);
    for (HostName name : watch.names) {
      byName.compute(
          name,
          (n, watches) -> {
            Set<Watch> set = watches != null ? watches : ConcurrentHashMap.newKeySet();
            set.add(watch);
            return set;
          });
    }
    return watch;
  }

  /** Whether any subscription watches {@code name}. */
  boolean watched(HostName name) {
    return byName.containsKey(name);
  }

  /** How many subscriptions watch {@code name}. */
  int count(HostName name) {
    return byName.getOrDefault(name, Set.of()).size();
  }

  /**
   * A change of {@code name}'s addresses, for the subscriptions watching it now. Taken when the
   * change is made (under the name's lock), delivered after: a subscription added in between saw
   * the new addresses already and is not told.
   */
  Change changeOf(HostName name) {
    Set<Watch> watches = Set.copyOf(byName.getOrDefault(name, Set.of()));
    return watches.isEmpty() ? Change.NONE : new Change(name, watches);
  }

  /** A change to deliver to the subscriptions that watched the name when it happened. */
  static final class Change {
    /** Nothing changed, or nobody watched. */
    static final Change NONE = new Change(null, Set.of());

    private final @Nullable HostName name;
    private final Set<Watch> watches;

    private Change(@Nullable HostName name, Set<Watch> watches) {
      this.name = name;
      this.watches = watches;
    }

    /** Schedules a listener call for each subscription (merged with any pending one). */
    void deliver() {
      for (Watch watch : watches) {
        watch.changed(Objects.requireNonNull(name, "a change with watches has a name"));
      }
    }
  }

  /** Stops every listener call, pending ones included; idempotent. */
  void close() {
    closed = true;
  }

  private final class Watch implements NameResolver.Subscription {
    private final Set<HostName> names;
    private final NameResolver.Listener listener;
    private final Set<HostName> pending = new HashSet<>(); // guarded by itself
    private boolean drainScheduled; // guarded by pending
    private volatile boolean cancelled;

    Watch(Set<HostName> names, NameResolver.Listener listener) {
      this.names = names;
      this.listener = listener;
    }

    void changed(HostName name) {
      synchronized (pending) {
        pending.add(name);
        if (drainScheduled) {
          return;
        }
        drainScheduled = true;
      }
      try {
        executor.execute(this::drain);
      } catch (RejectedExecutionException e) {
        log.debug("egress-dns: executor stopped; change of {} not delivered", name);
        synchronized (pending) {
          drainScheduled = false;
        }
      }
    }

    private synchronized void drain() {
      Set<HostName> changed;
      synchronized (pending) {
        changed = Set.copyOf(pending);
        pending.clear();
        drainScheduled = false;
      }
      if (changed.isEmpty() || cancelled || closed) {
        return;
      }
      try {
        listener.onChange(current.apply(names), changed);
      } catch (RuntimeException e) {
        log.error("egress-dns: a listener failed on the change of {}", changed, e);
      }
    }

    @Override
    public void close() {
      cancelled = true;
      for (HostName name : names) {
        byName.computeIfPresent(
            name,
            (n, watches) -> {
              watches.remove(this);
              return watches.isEmpty() ? null : watches;
            });
      }
    }
  }
}
