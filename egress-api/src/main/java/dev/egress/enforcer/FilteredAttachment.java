package dev.egress.enforcer;

import dev.egress.policy.EgressPolicy;
import java.util.Objects;

/**
 * An attached container whose policy says {@code dns filter}, as {@link
 * FilteredAttachments#bySource} finds it.
 *
 * @param id the container's id
 * @param policy its policy now; {@link EgressPolicy#filtersDns()} holds
 */
public record FilteredAttachment(ContainerId id, EgressPolicy policy) {
  public FilteredAttachment {
    Objects.requireNonNull(id, "id");
    if (!policy.filtersDns()) {
      throw new IllegalArgumentException("the policy of " + id + " does not say 'dns filter'");
    }
  }
}
