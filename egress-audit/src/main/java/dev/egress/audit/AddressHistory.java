package dev.egress.audit;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressListener;
import dev.egress.enforcer.Subject;
import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Who held which source address when: the attachments' history, kept for as long as a log line may
 * lag behind ({@code retention}), so that a refused packet is attributed to the container that held
 * its source address at the packet's moment, even after the address moved to another container.
 *
 * <p>Packet times come from the kernel, attachment times from the enforcer's clock, after the rules
 * were loaded: a packet matches an attachment whose time span, widened by {@code slack} at both
 * ends, holds it. When two attachments of the address match (it moved within {@code slack}), or
 * none does, the record names no container: a record is never given to the wrong one.
 *
 * <p>Fed by the enforcer's events ({@link #listener()}), or by a host that knows policy names
 * ({@link #attached}, {@link #detached}). Thread-safe; never blocks beyond a short lock.
 */
public final class AddressHistory {
  private final Duration slack;
  private final Duration retention;
  private final Map<InetAddress, List<Span>> spans = new HashMap<>();
  private final Map<ContainerId, @Nullable String> policies = new HashMap<>();

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
   * {@code endpoint}'s addresses are its from {@code time} on, under the policy named {@code
   * policyName} (null: unnamed). Addresses it held before and no longer lists are released at
   * {@code time}. Idempotent.
   */
  public synchronized void attached(
      Instant time, ContainerEndpoint endpoint, @Nullable String policyName) {
    ContainerId id = endpoint.id();
    policies.put(id, policyName);
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
   * Follows an enforcer's events: {@code Attached} and {@code Updated} with no policy name, {@code
   * Detached} of a container. Other events are ignored.
   */
  public EgressListener listener() {
    return event -> {
      if (event instanceof EgressEvent.Attached a) {
        attached(a.time(), a.container(), null);
      } else if (event instanceof EgressEvent.Updated u) {
        attached(u.time(), u.container(), policyOf(u.container().id()));
      } else if (event instanceof EgressEvent.Detached d
          && d.subject() instanceof Subject.Container c) {
        detached(d.time(), c.id());
      }
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
   * names the container that held its source address then (and its policy name); a refusal by the
   * guard names none, since the guard sees only what no container's rules matched.
   *
   * @param host the name the container was last given for the destination, or null
   */
  public AuditRecord.Refused attribute(
      RefusedPacket packet, Reason reason, @Nullable HostName host) {
    Objects.requireNonNull(packet, "packet");
    @Nullable ContainerId container =
        switch (reason) {
          case NOT_IN_POLICY, DNS_FOREIGN_RESOLVER ->
              holderAt(packet.source(), packet.time()).orElse(null);
          case GUARD_UNATTACHED, SPOOFED_SOURCE -> null;
        };
    return new AuditRecord.Refused(
        packet, container, reason, container == null ? null : policyOf(container), host);
  }

  private synchronized @Nullable String policyOf(ContainerId id) {
    return policies.get(id);
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
  }

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
