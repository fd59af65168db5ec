package dev.egress.lab;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

/**
 * The lab's zone: the records its DNS servers answer with inside the namespaces, and the same
 * records as a {@link NameResolver} for an enforcer running in the test's own process (which cannot
 * reach the lab's DNS servers). Changing a record updates the DNS servers first and then tells
 * subscribers, on a resolver thread, as a real resolver would once the old TTL ran out.
 *
 * <p>Thread-safe. {@link #set} blocks until the DNS servers have the new record.
 */
public final class LabNames implements NameResolver {
  private final List<Agent> servers;
  private final ExecutorService notifier;
  private final Map<HostName, Set<InetAddress>> records = new HashMap<>();
  private final List<Watch> watches = new CopyOnWriteArrayList<>();

  private record Watch(Set<HostName> names, Listener listener) {}

  LabNames(List<Agent> servers) {
    this.servers = List.copyOf(servers);
    this.notifier =
        Executors.newSingleThreadExecutor(
            task -> {
              Thread thread = new Thread(task, "lab-names");
              thread.setDaemon(true);
              return thread;
            });
  }

  /**
   * Makes {@code name} resolve to {@code addresses} (none: the name no longer exists) with the
   * given TTL.
   *
   * @throws IOException if the lab's DNS server could not be updated
   */
  public void set(String name, Duration ttl, InetAddress... addresses) throws IOException {
    HostName host = HostName.of(name);
    Set<InetAddress> next = Set.of(addresses);
    String record =
        "record "
            + host.ascii()
            + " "
            + ttl.toSeconds()
            + " "
            + next.stream().map(IpAddresses::format).collect(Collectors.joining(" "));
    for (Agent server : servers) {
      server.ask(record, Duration.ofSeconds(5));
    }
    boolean changed;
    synchronized (records) {
      changed = !next.equals(records.getOrDefault(host, Set.of()));
      records.put(host, next);
    }
    if (changed) {
      for (Watch watch : watches) {
        if (watch.names().contains(host)) {
          Resolutions current = snapshot(watch.names());
          notifier.execute(() -> watch.listener().onChange(current, Set.of(host)));
        }
      }
    }
  }

  @Override
  public Resolutions resolve(Set<HostName> names) {
    return snapshot(names);
  }

  private Resolutions snapshot(Set<HostName> names) {
    Map<HostName, Set<InetAddress>> known = new HashMap<>();
    synchronized (records) {
      for (HostName name : names) {
        Set<InetAddress> addresses = records.get(name);
        if (addresses != null && !addresses.isEmpty()) {
          known.put(name, addresses);
        }
      }
    }
    return new Resolutions(known);
  }

  @Override
  public Subscription subscribe(Set<HostName> names, Listener listener) {
    Watch watch = new Watch(new HashSet<>(names), listener);
    watches.add(watch);
    return () -> watches.remove(watch);
  }

  void close() {
    notifier.shutdownNow();
  }
}
