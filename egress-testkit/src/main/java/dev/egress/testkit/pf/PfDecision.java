package dev.egress.testkit.pf;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A verdict and the rule that decided it.
 *
 * @param verdict pass or block
 * @param anchor where the deciding rule is: {@code ""} for the parent ruleset, else the child
 *     anchor's name; {@code ""} too when no rule matched
 * @param rule the deciding rule's text, or null when no rule matched (pf then passes)
 */
public record PfDecision(PfVerdict verdict, String anchor, @Nullable String rule) {
  public PfDecision {
    Objects.requireNonNull(verdict, "verdict");
    Objects.requireNonNull(anchor, "anchor");
  }

  @Override
  public String toString() {
    return verdict
        + (rule == null
            ? " (no rule matched)"
            : " by '"
                + rule
                + "'"
                + (anchor.isEmpty() ? " in the parent" : " in anchor " + anchor));
  }
}
