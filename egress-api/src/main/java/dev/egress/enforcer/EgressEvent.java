package dev.egress.enforcer;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * What an enforcer did or found, for audit logs and monitoring. Each event says what it concerns
 * ({@link #subject()}): a container by its id, unowned rules by their rule-set name, or the host.
 */
public sealed interface EgressEvent {
  /** When it happened, by the enforcer's clock. */
  Instant time();

  /** What the event concerns. */
  Subject subject();

  /** A policy now applies to the container. */
  record Attached(Instant time, ContainerEndpoint container, EgressPolicy policy)
      implements EgressEvent {
    @Override
    public Subject subject() {
      return Subject.container(container.id());
    }
  }

  /** The container's policy was replaced. */
  record Updated(Instant time, ContainerEndpoint container, EgressPolicy policy)
      implements EgressEvent {
    @Override
    public Subject subject() {
      return Subject.container(container.id());
    }
  }

  /** Names of the container's policy resolve to new addresses, and the rules now follow them. */
  record AddressesRefreshed(Instant time, ContainerId containerId, Set<HostName> changed)
      implements EgressEvent {
    public AddressesRefreshed {
      Objects.requireNonNull(containerId, "containerId");
      changed = Set.copyOf(changed);
    }

    @Override
    public Subject subject() {
      return Subject.container(containerId);
    }
  }

  /** The rules of a container, or unowned rules, and their tracked connections are gone. */
  record Detached(Instant time, Subject.Removable subject) implements EgressEvent {
    public Detached {
      Objects.requireNonNull(subject, "subject");
    }
  }

  /**
   * Kernel state differs from what the enforcer installed.
   *
   * @param subject the container whose rules differ, or the host
   * @param description what differs
   * @param repaired whether the enforcer put it right; if not, {@code description} says how to
   */
  record DriftDetected(Instant time, Subject subject, String description, boolean repaired)
      implements EgressEvent {
    public DriftDetected {
      Objects.requireNonNull(subject, "subject");
    }
  }

  /** An operation failed; what it leaves behind is as the failing method's contract says. */
  record Failed(Instant time, Subject subject, Operation operation, String message)
      implements EgressEvent {
    public Failed {
      Objects.requireNonNull(subject, "subject");
      Objects.requireNonNull(operation, "operation");
    }
  }

  /**
   * A DNS filter answered a container's query.
   *
   * @param name the name as asked, in DNS presentation form (bytes other than letters, digits and
   *     hyphens escaped, so it is ASCII); print it through {@code UserText}
   * @param type the query type's mnemonic ({@code A}, {@code TXT}, {@code TYPE65534})
   * @param verdict what the filter answered
   * @param granted the addresses granted to the container for this answer (empty unless answered;
   *     also empty when they were granted already)
   */
  record DnsQueried(
      Instant time,
      ContainerId containerId,
      String name,
      String type,
      DnsVerdict verdict,
      Set<InetAddress> granted)
      implements EgressEvent {
    public DnsQueried {
      Objects.requireNonNull(containerId, "containerId");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(verdict, "verdict");
      granted = Set.copyOf(granted);
    }

    @Override
    public Subject subject() {
      return Subject.container(containerId);
    }
  }

  /**
   * A container asked a DNS filter for many different names under one wildcard within a short time:
   * each allowed name reaches that domain's own servers, so labels can carry data out.
   *
   * @param wildcard the policy's wildcard name
   * @param uniqueNames how many different names it covered within {@code window}
   * @param window the counting window
   */
  record WildcardBurst(
      Instant time, ContainerId containerId, HostName wildcard, int uniqueNames, Duration window)
      implements EgressEvent {
    public WildcardBurst {
      Objects.requireNonNull(containerId, "containerId");
      Objects.requireNonNull(window, "window");
      if (!wildcard.isWildcard()) {
        throw new IllegalArgumentException(wildcard + " is not a wildcard name");
      }
    }

    @Override
    public Subject subject() {
      return Subject.container(containerId);
    }
  }

  /** The operations whose failures {@link Failed} reports. */
  enum Operation {
    /** Installing the rules of a new attachment. */
    ATTACH,
    /** Replacing the policy of an attachment. */
    UPDATE,
    /** Removing the rules of a detached container. */
    DETACH,
    /**
     * Removing rules outside a detach: after a failed attach, a retried removal, or rules of a
     * container that no longer runs.
     */
    REMOVE,
    /** Following a change of addresses, or reinstalling after such a change failed. */
    REFRESH,
    /** Reinstalling rules found missing or altered. */
    REPAIR,
    /** Putting a DNS filter's answer into a container's sets ({@link FilteredAttachments}). */
    GRANT;

    /** The operation in lower case, as messages write it. */
    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }
}
