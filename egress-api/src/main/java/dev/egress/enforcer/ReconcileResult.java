package dev.egress.enforcer;

import java.util.Set;

/**
 * What {@link EgressEnforcer#reconcile} did.
 *
 * @param removed whose rules were removed: containers attached through this enforcer that no longer
 *     run (or whose earlier removal failed), and rules found installed that no attachment owns
 * @param repaired live attachments whose rules were missing or altered and were reinstalled
 */
public record ReconcileResult(Set<Subject.Removable> removed, Set<ContainerId> repaired) {
  public ReconcileResult {
    removed = Set.copyOf(removed);
    repaired = Set.copyOf(repaired);
  }
}
