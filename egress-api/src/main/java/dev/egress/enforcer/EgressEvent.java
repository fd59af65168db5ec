package dev.egress.enforcer;

import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import java.time.Instant;
import java.util.Set;

/** What an enforcer did or found, for audit logs and monitoring. */
public sealed interface EgressEvent {
  /** When it happened, by the enforcer's clock. */
  Instant time();

  /** The container concerned, or empty for host-wide events. */
  String containerId();

  /** A policy now applies to the container. */
  record Attached(Instant time, ContainerEndpoint container, EgressPolicy policy)
      implements EgressEvent {
    @Override
    public String containerId() {
      return container.id();
    }
  }

  /** The container's policy was replaced. */
  record Updated(Instant time, ContainerEndpoint container, EgressPolicy policy)
      implements EgressEvent {
    @Override
    public String containerId() {
      return container.id();
    }
  }

  /** Names of the container's policy resolve to new addresses, and the rules now follow them. */
  record AddressesRefreshed(Instant time, String containerId, Set<HostName> changed)
      implements EgressEvent {
    public AddressesRefreshed {
      changed = Set.copyOf(changed);
    }
  }

  /** The container's rules and tracked connections are gone. */
  record Detached(Instant time, String containerId) implements EgressEvent {}

  /**
   * Kernel state differs from what the enforcer installed.
   *
   * @param description what differs
   * @param repaired whether the enforcer put it right; if not, {@code description} says how to
   */
  record DriftDetected(Instant time, String containerId, String description, boolean repaired)
      implements EgressEvent {}

  /** An operation failed; what it leaves behind is as the failing method's contract says. */
  record Failed(Instant time, String containerId, String operation, String message)
      implements EgressEvent {}
}
