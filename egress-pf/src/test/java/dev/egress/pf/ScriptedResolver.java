package dev.egress.pf;

import dev.egress.enforcer.NameResolver;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/** A resolver whose answers the test sets; listeners are called on the setting thread. */
final class ScriptedResolver implements NameResolver {
  private record Registration(Set<HostName> names, Listener listener) {}

  private final Map<HostName, Set<InetAddress>> answers = new HashMap<>();
  private final List<Registration> registrations = new CopyOnWriteArrayList<>();

  synchronized ScriptedResolver answer(String name, Set<InetAddress> addresses) {
    answers.put(HostName.of(name), Set.copyOf(addresses));
    return this;
  }

  /** Changes the answer for {@code name} and tells the subscribers that care. */
  void change(String name, Set<InetAddress> addresses) {
    HostName host = HostName.of(name);
    boolean changed;
    synchronized (this) {
      changed = !answers.getOrDefault(host, Set.of()).equals(addresses);
      answers.put(host, Set.copyOf(addresses));
    }
    if (!changed) {
      return;
    }
    for (Registration registration : registrations) {
      if (registration.names().contains(host)) {
        registration.listener().onChange(resolve(registration.names()), Set.of(host));
      }
    }
  }

  /** The process that subscribed died: nobody hears of changes any more. */
  void forgetSubscribers() {
    registrations.clear();
  }

  synchronized Resolutions current() {
    return new Resolutions(answers);
  }

  @Override
  public synchronized Resolutions resolve(Set<HostName> names) {
    Map<HostName, Set<InetAddress>> found = new HashMap<>();
    for (HostName name : names) {
      Set<InetAddress> addresses = answers.get(name);
      if (addresses != null) {
        found.put(name, addresses);
      }
    }
    return new Resolutions(found);
  }

  @Override
  public Subscription subscribe(Set<HostName> names, Listener listener) {
    Registration registration = new Registration(new HashSet<>(names), listener);
    registrations.add(registration);
    return () -> registrations.remove(registration);
  }
}
