package dev.egress.audit;

import dev.egress.core.RulesetEnforcer;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.FilteredAttachments;
import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * An enforcer's lifecycle and, when the enforcer keeps one, its audit trail: the {@link
 * AddressHistory} that the lifecycle's events and its resolver's answers feed, and the backend's
 * {@link LogReaders} whose records it attributes. The enforcer delegates to the lifecycle, and to
 * this for what the trail must also see: {@link #grant}s and {@link #close}. Built by {@link
 * AuditedLifecycleBuilder#buildAuditedLifecycle}. Thread-safe, as the lifecycle is.
 *
 * @param <R> the backend's readers
 */
public final class AuditedLifecycle<R extends LogReaders> implements AutoCloseable {
  private final RulesetEnforcer lifecycle;
  private final @Nullable Trail<R> trail;

  private AuditedLifecycle(RulesetEnforcer lifecycle, @Nullable Trail<R> trail) {
    this.lifecycle = lifecycle;
    this.trail = trail;
  }

  static <R extends LogReaders> AuditedLifecycle<R> unaudited(RulesetEnforcer lifecycle) {
    return new AuditedLifecycle<>(lifecycle, null);
  }

  static <R extends LogReaders> AuditedLifecycle<R> audited(
      RulesetEnforcer lifecycle, AddressHistory history, R readers, Clock clock) {
    return new AuditedLifecycle<>(lifecycle, new Trail<>(history, readers, clock));
  }

  /** The lifecycle, for everything but {@link #grant} and {@link #close}. */
  public RulesetEnforcer lifecycle() {
    return lifecycle;
  }

  /** The backend's readers, when the enforcer keeps an audit trail. */
  public Optional<R> readers() {
    return Optional.ofNullable(trail).map(Trail::readers);
  }

  /**
   * {@link FilteredAttachments#grant} on the lifecycle, then, when it succeeded, into the history
   * (stamped by the builder's clock): a later refusal to one of {@code addresses} names {@code
   * asked}.
   */
  public void grant(
      ContainerId container, HostName asked, Set<InetAddress> addresses, Instant expiry)
      throws EgressException {
    lifecycle.grant(container, asked, addresses, expiry);
    if (trail != null) {
      trail.history.granted(trail.clock.instant(), container, asked, addresses);
    }
  }

  /** Closes the lifecycle, then the readers, even when the lifecycle's close threw. */
  @Override
  public void close() {
    try {
      lifecycle.close();
    } finally {
      if (trail != null) {
        trail.readers.close();
      }
    }
  }

  private record Trail<R extends LogReaders>(AddressHistory history, R readers, Clock clock) {}
}
