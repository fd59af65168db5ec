package dev.egress.enforcer;

import dev.egress.policy.EgressPolicy;

/** A policy attached to one container. Thread-safe; operations are ordered per container. */
public interface Attachment {

  ContainerEndpoint container();

  /** The policy now enforced (the last one that was attached or updated successfully). */
  EgressPolicy policy();

  /**
   * Whether the attachment is live: not detached (even if that detach failed and its removal is
   * still being retried) and not removed by reconcile. Only live attachments are listed by {@link
   * EgressEnforcer#attachments()}.
   */
  boolean isActive();

  /**
   * Replaces the policy in one atomic step: no packet sees a mix of old and new rules, nor a moment
   * without rules. Blocks until enforced.
   *
   * @throws UnsupportedPolicyException as for {@link EgressEnforcer#attach}; nothing changes
   * @throws IllegalStateException if the attachment is no longer active
   * @throws EgressException if the new rules could not be installed; the old policy stays enforced
   */
  void update(EgressPolicy policy) throws EgressException;

  /**
   * Removes the container's rules and cuts its open connections (both directions). Idempotent:
   * detaching again does nothing. Blocks until done.
   *
   * @throws EgressException if removal failed. The container's rules then stay in place (it keeps
   *     no more than its policy), the attachment is no longer active, the enforcer retries in the
   *     background and reports every failure as an event, and no other container may attach with
   *     these addresses until removal has succeeded. Calling detach again retries at once.
   */
  void detach() throws EgressException;
}
