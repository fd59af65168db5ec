package dev.egress.audit;

import dev.egress.enforcer.ContainerId;
import dev.egress.policy.HostName;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One line of the audit file: a packet the filter refused, or how many such records the writer left
 * out. The JSON form is {@link AuditJson}'s and its schema is {@code audit-record.schema.json}
 * (version {@link AuditJson#SCHEMA_VERSION}).
 */
public sealed interface AuditRecord {
  /** When it happened. */
  Instant time();

  /** The container it concerns, or null when no attached container held the address. */
  @Nullable ContainerId container();

  /**
   * A refused packet, attributed.
   *
   * @param packet what the filter refused, and when
   * @param container the container that held the packet's source address at that moment, or null
   *     when none did (the guard's refusals of unattached or forged addresses)
   * @param reason which rule refused it
   * @param policy the name of the container's policy when the caller gave one, else null
   * @param host the host name the container was last given for the destination, when known
   */
  record Refused(
      RefusedPacket packet,
      @Nullable ContainerId container,
      Reason reason,
      @Nullable String policy,
      @Nullable HostName host)
      implements AuditRecord {
    public Refused {
      Objects.requireNonNull(packet, "packet");
      Objects.requireNonNull(reason, "reason");
      if (policy != null && (policy.isEmpty() || policy.length() > 255)) {
        throw new IllegalArgumentException("a policy name has 1..255 characters");
      }
    }

    @Override
    public Instant time() {
      return packet.time();
    }
  }

  /**
   * Records about {@code container} (null: about unattributed packets) that the writer did not
   * write between {@code since} and {@code time}, and why.
   *
   * @param count how many, at least one
   */
  record Dropped(
      Instant time, @Nullable ContainerId container, DropCause cause, long count, Instant since)
      implements AuditRecord {
    public Dropped {
      Objects.requireNonNull(time, "time");
      Objects.requireNonNull(cause, "cause");
      Objects.requireNonNull(since, "since");
      if (count < 1) {
        throw new IllegalArgumentException("a drop summary counts at least one record: " + count);
      }
      if (since.isAfter(time)) {
        throw new IllegalArgumentException("a drop summary starts (" + since + ") after " + time);
      }
    }
  }

  /** Why the writer left records out. */
  enum DropCause {
    /** The container sent more refused packets than its rate limit lets through. */
    RATE_LIMIT,
    /** The writer's queue was full: the disk did not keep up. */
    QUEUE_FULL;

    /** {@code rate-limit}, {@code queue-full}: the name the audit file uses. */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }
}
