package dev.egress.testkit;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A scriptable {@link NameResolver} for tests: names resolve to what the test {@link #set}s, and
 * nothing ever touches the network.
 *
 * <p>A name that was never set, or that was {@link #fail}ed, resolves to nothing, just as a real
 * resolver maps a failed lookup to nothing once its grace time has passed. {@link #set} and {@link
 * #fail} notify, synchronously on the calling thread, every subscriber whose names include the
 * changed name, but only when the name's address set really changes. Notifications are delivered
 * one change at a time in the order the changes happened, and never while this resolver holds the
 * lock that guards its answers, so a subscriber may call back into the resolver.
 *
 * <p>The resolver counts how often each name was asked for ({@link #queries}) and how many times
 * {@link #resolve} was called ({@link #resolveCalls}), and it can wait a fixed {@link #setLatency
 * latency} in every {@link #resolve} call to model a slow upstream.
 *
 * <p>Thread-safe.
 */
public final class FakeNameResolver implements NameResolver {
  /** Serialises notifications so that subscribers see changes in the order they happened. */
  private final Object deliveryLock = new Object();

  private final Map<HostName, Set<InetAddress>> answers = new HashMap<>();
  private final Map<HostName, Integer> queries = new HashMap<>();
  private final List<Registration> registrations = new ArrayList<>();
  private int resolveCalls;
  private Duration latency = Duration.ZERO;

  /** A resolver where no name resolves to anything. */
  public FakeNameResolver() {}

  /**
   * Makes {@code name} resolve to exactly {@code addresses} (none: the name resolves to nothing)
   * and notifies the subscribers of {@code name} if its address set changed.
   *
   * @return this resolver
   */
  public FakeNameResolver set(HostName name, InetAddress... addresses) {
    Objects.requireNonNull(name, "name");
    Set<InetAddress> newAddresses = Set.copyOf(Arrays.asList(addresses));
    synchronized (deliveryLock) {
      List<Notification> notifications;
      synchronized (this) {
        Set<InetAddress> old = answers.getOrDefault(name, Set.of());
        if (old.equals(newAddresses)) {
          return this;
        }
        if (newAddresses.isEmpty()) {
          answers.remove(name);
        } else {
          answers.put(name, newAddresses);
        }
        notifications = new ArrayList<>();
        for (Registration registration : registrations) {
          if (registration.names.contains(name)) {
            notifications.add(
                new Notification(registration.listener, snapshot(registration.names), name));
          }
        }
      }
      for (Notification notification : notifications) {
        notification.listener.onChange(notification.current, Set.of(notification.changed));
      }
    }
    return this;
  }

  /**
   * As {@link #set(HostName, InetAddress...)}, with the name given as text.
   *
   * @throws IllegalArgumentException if {@code name} is not a valid host name
   */
  public FakeNameResolver set(String name, InetAddress... addresses) {
    return set(HostName.of(name), addresses);
  }

  /**
   * Makes {@code name} unresolvable: it resolves to nothing from now on, and its subscribers are
   * told if it had addresses before.
   *
   * @return this resolver
   */
  public FakeNameResolver fail(HostName name) {
    return set(name);
  }

  /** As {@link #fail(HostName)}, with the name given as text. */
  public FakeNameResolver fail(String name) {
    return fail(HostName.of(name));
  }

  /**
   * Makes every later {@link #resolve} call wait {@code latency} before answering (zero: answer at
   * once). Subscriptions are not delayed.
   */
  public synchronized void setLatency(Duration latency) {
    if (latency.isNegative()) {
      throw new IllegalArgumentException("latency must not be negative, got " + latency);
    }
    this.latency = latency;
  }

  /**
   * The current addresses of {@code names}; names without addresses are absent. Waits the
   * configured latency first.
   *
   * @throws InterruptedException if interrupted while waiting the latency
   */
  @Override
  public Resolutions resolve(Set<HostName> names) throws InterruptedException {
    Set<HostName> copy = Set.copyOf(names);
    Duration wait;
    synchronized (this) {
      resolveCalls++;
      for (HostName name : copy) {
        queries.merge(name, 1, Integer::sum);
      }
      wait = latency;
    }
    if (!wait.isZero()) {
      Thread.sleep(wait.toMillis(), wait.toNanosPart() % 1_000_000);
    }
    synchronized (this) {
      return snapshot(copy);
    }
  }

  @Override
  public synchronized Subscription subscribe(Set<HostName> names, Listener listener) {
    Registration registration = new Registration(Set.copyOf(names), listener);
    registrations.add(registration);
    return () -> {
      synchronized (FakeNameResolver.this) {
        registrations.remove(registration);
      }
    };
  }

  /** How many times {@link #resolve} asked for {@code name}. */
  public synchronized int queries(HostName name) {
    return queries.getOrDefault(name, 0);
  }

  /** As {@link #queries(HostName)}, with the name given as text. */
  public int queries(String name) {
    return queries(HostName.of(name));
  }

  /** How many times {@link #resolve} was called, whatever the names. */
  public synchronized int resolveCalls() {
    return resolveCalls;
  }

  /** How many subscriptions are open now (for checking that enforcers close theirs). */
  public synchronized int subscriptionCount() {
    return registrations.size();
  }

  /** The names some open subscription watches. */
  public synchronized Set<HostName> subscribedNames() {
    Set<HostName> names = new LinkedHashSet<>();
    registrations.forEach(r -> names.addAll(r.names));
    return Set.copyOf(names);
  }

  /** What {@code names} resolve to now, without counting a query or waiting. */
  public synchronized Resolutions current(Set<HostName> names) {
    return snapshot(Set.copyOf(names));
  }

  private Resolutions snapshot(Set<HostName> names) {
    Map<HostName, Set<InetAddress>> result = new HashMap<>();
    for (HostName name : names) {
      Set<InetAddress> addresses = answers.get(name);
      if (addresses != null) {
        result.put(name, new HashSet<>(addresses));
      }
    }
    return new Resolutions(result);
  }

  /** Identity matters: two subscriptions with equal names and listener are still two. */
  private static final class Registration {
    final Set<HostName> names;
    final Listener listener;

    Registration(Set<HostName> names, Listener listener) {
      this.names = names;
      this.listener = Objects.requireNonNull(listener, "listener");
    }
  }

  private record Notification(Listener listener, Resolutions current, HostName changed) {}
}
