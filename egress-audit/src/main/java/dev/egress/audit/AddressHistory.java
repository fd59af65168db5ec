package dev.egress.audit;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.NameResolver;
import dev.egress.enforcer.Subject;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Who held which source address when, and which host name each container was given for which
 * destination: the attachments' history, kept for as long as a log line may lag behind ({@code
 * retention}), so that a refused packet is attributed to the container that held its source address
 * at the packet's moment, even after the address moved to another container, and names the host the
 * container was last given for its destination. This is the one place that answers "who held
 * address X at time T" ({@link EgressEnforcer#attachments()} says who holds what now).
 *
 * <p>Packet times come from the kernel, attachment times from the enforcer's clock, after the rules
 * were loaded: a packet matches an attachment whose time span, widened by {@code slack} at both
 * ends, holds it. When two attachments of the address match (it moved within {@code slack}), or
 * none does, the record names no container: a record is never given to the wrong one.
 *
 * <p>Names come from two sources: the answers of the resolver that resolves the policies' host
 * names ({@link #recording}), for the names of the container's policy, and the grants of a DNS
 * filter ({@link #granted}). Of those given for the destination no later than the packet (plus
 * {@code slack}), the latest wins; none: no name.
 *
 * <p>Fed by the enforcer's events ({@link #listener()}), or by a host that knows policy names
 * ({@link #attached}, {@link #detached}). Thread-safe; never blocks beyond a short lock.
 */
public final class AddressHistory {
  private static final int MAX_NAMES_PER_KEY = 256;

  private final Duration slack;
  private final Duration retention;
  private final Map<InetAddress, List<Span>> spans = new HashMap<>();
  private final Map<ContainerId, Policy> policies = new HashMap<>();
  private final Map<ContainerId, Map<InetAddress, Given>> granted = new HashMap<>();
  private final Map<HostName, Map<InetAddress, Instant>> resolved = new HashMap<>();

  /**
   * @param slack how far apart the kernel's and the enforcer's times may be, at least zero
   * @param retention how long a detached container's spans are kept, at least {@code slack}
   */
  public AddressHistory(Duration slack, Duration retention) {
    if (slack.isNegative() || retention.compareTo(slack) < 0) {
      throw new IllegalArgumentException(
          "slack " + slack + " must be at least zero and retention " + retention + " at least it");
    }
    this.slack = slack;
    this.retention = retention;
  }

  /** Two seconds of slack, a minute of retention. */
  public static AddressHistory withDefaults() {
    return new AddressHistory(Duration.ofSeconds(2), Duration.ofMinutes(1));
  }

  /**
   * {@code endpoint}'s addresses are its from {@code time} on, under {@code policy} named {@code
   * policyName} (null: unnamed). Addresses it held before and no longer lists are released at
   * {@code time}. Idempotent.
   */
  public synchronized void attached(
      Instant time, ContainerEndpoint endpoint, EgressPolicy policy, @Nullable String policyName) {
    ContainerId id = endpoint.id();
    policies.put(id, new Policy(policyName, policy.hostNames()));
    Set<InetAddress> now = new HashSet<>(endpoint.addresses());
    for (Map.Entry<InetAddress, List<Span>> entry : spans.entrySet()) {
      if (!now.contains(entry.getKey())) {
        entry.getValue().replaceAll(span -> span.open(id) ? span.closedAt(time) : span);
      }
    }
    for (InetAddress address : now) {
      List<Span> list = spans.computeIfAbsent(address, a -> new ArrayList<>());
      if (list.stream().noneMatch(span -> span.open(id))) {
        list.replaceAll(span -> span.until == null ? span.closedAt(time) : span);
        list.add(new Span(id, time, null));
      }
    }
    prune(time);
  }

  /** {@code id}'s addresses are no longer its from {@code time} on. Idempotent. */
  public synchronized void detached(Instant time, ContainerId id) {
    spans.values().forEach(list -> list.replaceAll(s -> s.open(id) ? s.closedAt(time) : s));
    prune(time);
  }

  /**
   * A DNS filter gave {@code container} {@code addresses} for {@code name} at {@code time} (it
   * granted them). Ignored for a container that is not attached.
   */
  public synchronized void granted(
      Instant time, ContainerId container, HostName name, Set<InetAddress> addresses) {
    if (!policies.containsKey(container)) {
      return;
    }
    Map<InetAddress, Given> given = granted.computeIfAbsent(container, c -> new HashMap<>());
    for (InetAddress address : addresses) {
      given.put(address, new Given(name, time));
    }
    evictOldest(given, Given::time);
  }

  /**
   * {@code resolver}, whose answers (to {@link NameResolver#resolve} and to subscriptions) are kept
   * here as the names the containers whose policies name them were given, stamped by {@code clock}.
   * An enforcer built over it feeds this history as it resolves.
   */
  public NameResolver recording(NameResolver resolver, Clock clock) {
    Objects.requireNonNull(resolver, "resolver");
    Objects.requireNonNull(clock, "clock");
    return new NameResolver() {
      @Override
      public Resolutions resolve(Set<HostName> names) throws InterruptedException {
        Resolutions answers = resolver.resolve(names);
        resolved(clock.instant(), answers);
        return answers;
      }

      @Override
      public Subscription subscribe(Set<HostName> names, Listener listener) {
        return resolver.subscribe(
            names,
            (current, changed) -> {
              resolved(clock.instant(), current);
              listener.onChange(current, changed);
            });
      }
    };
  }

  private synchronized void resolved(Instant time, Resolutions answers) {
    answers
        .addresses()
        .forEach(
            (name, addresses) -> {
              Map<InetAddress, Instant> seen = resolved.computeIfAbsent(name, n -> new HashMap<>());
              addresses.forEach(address -> seen.put(address, time));
              evictOldest(seen, Function.identity());
            });
  }

  /**
   * The host name {@code container} was last given for {@code destination}, no later than {@code
   * time} plus the slack: by a DNS filter's grant, or by the resolver for a name of its policy.
   */
  public synchronized Optional<HostName> nameGiven(
      ContainerId container, InetAddress destination, Instant time) {
    Instant latest = time.plus(slack);
    @Nullable Given best = null;
    @Nullable Given grant = granted.getOrDefault(container, Map.of()).get(destination);
    if (grant != null && !grant.time.isAfter(latest)) {
      best = grant;
    }
    @Nullable Policy policy = policies.get(container);
    for (HostName name : policy == null ? Set.<HostName>of() : policy.hostNames) {
      @Nullable Instant seen = resolved.getOrDefault(name, Map.of()).get(destination);
      if (seen != null && !seen.isAfter(latest) && (best == null || seen.isAfter(best.time))) {
        best = new Given(name, seen);
      }
    }
    return best == null ? Optional.empty() : Optional.of(best.name);
  }

  /**
   * Follows an enforcer's events: {@code Attached} and {@code Updated} with no policy name, {@code
   * Detached} of a container. Other events are ignored.
   */
  public EgressListener listener() {
    return event -> {
      if (event instanceof EgressEvent.Attached a) {
        attached(a.time(), a.container(), a.policy(), null);
      } else if (event instanceof EgressEvent.Updated u) {
        attached(u.time(), u.container(), u.policy(), policyNameOf(u.container().id()));
      } else if (event instanceof EgressEvent.Detached d
          && d.subject() instanceof Subject.Container c) {
        detached(d.time(), c.id());
      }
    };
  }

  /**
   * {@link #listener()} followed by {@code caller}: what an enforcer with an audit trail gives its
   * lifecycle in place of its caller's listener, so that the history has an attachment before the
   * caller hears of it.
   */
  public EgressListener before(EgressListener caller) {
    Objects.requireNonNull(caller, "caller");
    EgressListener follower = listener();
    return event -> {
      follower.onEvent(event);
      caller.onEvent(event);
    };
  }

  /**
   * The container that held {@code address} at {@code time}, if exactly one attachment of the
   * address matches.
   */
  public synchronized Optional<ContainerId> holderAt(InetAddress address, Instant time) {
    List<Span> matching =
        spans.getOrDefault(address, List.of()).stream()
            .filter(span -> span.holds(time, slack))
            .toList();
    return matching.size() == 1 ? Optional.of(matching.get(0).container) : Optional.empty();
  }

  /**
   * {@code packet}, refused for {@code reason}, as a record: a refusal by a container's own rules
   * names the container that held its source address then, its policy name and the name it was last
   * given for the destination ({@link #nameGiven}); a refusal by the guard names none, since the
   * guard sees only what no container's rules matched.
   */
  public AuditRecord.Refused attribute(RefusedPacket packet, Reason reason) {
    Objects.requireNonNull(packet, "packet");
    @Nullable ContainerId container =
        switch (reason) {
          case NOT_IN_POLICY, DNS_FOREIGN_RESOLVER ->
              holderAt(packet.source(), packet.time()).orElse(null);
          case GUARD_UNATTACHED, SPOOFED_SOURCE -> null;
        };
    if (container == null) {
      return new AuditRecord.Refused(packet, null, reason, null, null);
    }
    return new AuditRecord.Refused(
        packet,
        container,
        reason,
        policyNameOf(container),
        nameGiven(container, packet.destination(), packet.time()).orElse(null));
  }

  private synchronized @Nullable String policyNameOf(ContainerId id) {
    @Nullable Policy policy = policies.get(id);
    return policy == null ? null : policy.name;
  }

  /** Keeps at most {@link #MAX_NAMES_PER_KEY} entries: a CDN name's addresses keep changing. */
  private static <V> void evictOldest(Map<InetAddress, V> map, Function<V, Instant> time) {
    while (map.size() > MAX_NAMES_PER_KEY) {
      map.entrySet().stream()
          .min(Comparator.comparing(entry -> time.apply(entry.getValue())))
          .ifPresent(oldest -> map.remove(oldest.getKey()));
    }
  }

  private void prune(Instant now) {
    Instant horizon = now.minus(retention);
    spans
        .values()
        .forEach(list -> list.removeIf(s -> s.until != null && s.until.isBefore(horizon)));
    spans.values().removeIf(List::isEmpty);
    Set<ContainerId> live = new HashSet<>();
    spans.values().forEach(list -> list.forEach(s -> live.add(s.container)));
    policies.keySet().retainAll(live);
    granted.keySet().retainAll(live);
    Set<HostName> named = new HashSet<>();
    policies.values().forEach(policy -> named.addAll(policy.hostNames));
    resolved.keySet().retainAll(named);
  }

  /** A container's policy: its name (null: unnamed) and the host names the resolver resolves. */
  private record Policy(@Nullable String name, Set<HostName> hostNames) {}

  /** A name given for an address, and when. */
  private record Given(HostName name, Instant time) {}

  /** {@code container} held the address from {@code from} until {@code until} (null: still). */
  private record Span(ContainerId container, Instant from, @Nullable Instant until) {
    boolean open(ContainerId id) {
      return until == null && container.equals(id);
    }

    Span closedAt(Instant time) {
      return new Span(container, from, time.isBefore(from) ? from : time);
    }

    boolean holds(Instant time, Duration slack) {
      return !time.isBefore(from.minus(slack))
          && (until == null || !time.isAfter(until.plus(slack)));
    }
  }
}
