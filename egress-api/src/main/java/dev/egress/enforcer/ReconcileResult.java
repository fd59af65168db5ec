package dev.egress.enforcer;

import java.util.Set;

/**
 * What {@link EgressEnforcer#reconcile} did.
 *
 * @param removed ids whose rules were removed because their container no longer runs
 * @param repaired ids of live attachments whose rules were missing or altered and were reinstalled
 */
public record ReconcileResult(Set<String> removed, Set<String> repaired) {
  public ReconcileResult {
    removed = Set.copyOf(removed);
    repaired = Set.copyOf(repaired);
  }
}
