package dev.egress.enforcer;

/**
 * What a packet-filter backend calls one container's rules in the kernel: a pf child anchor, an
 * nftables chain. Only a backend makes one: each backend's own name type implements this interface
 * and holds the only copy of its naming rule, validated where the backend makes a name, from a
 * {@link ContainerId} or by reading back what the kernel holds. The lifecycle, events and the
 * operator's tools pass names on and compare them; they never derive, parse or build one. Events
 * and {@link ReconcileResult} carry one for rules found installed that no attachment of the running
 * process owns ({@link Subject.Unowned}).
 *
 * <p>Implementations are immutable values (records): equal names are equal, and {@link
 * Object#toString()} is {@link #value()}.
 */
public interface RuleSetName {
  /** The name as the kernel knows it. */
  String value();
}
