package dev.egress.core;

import dev.egress.enforcer.RuleSetName;
import dev.egress.plan.EnforcementPlan;
import java.util.Objects;

/**
 * What attaching a policy would load, without loading it: the text the backend would load, the
 * command that would load it, and the plan the text was printed from (its address sets say what
 * each of the policy's names resolved to).
 *
 * @param name the rule set's name
 * @param plan the plan the text was printed from
 * @param ruleset exactly what the backend would load
 * @param loadCommand the command that would load it, such as {@code pfctl -a PATH -f -}
 */
public record Preview(RuleSetName name, EnforcementPlan plan, String ruleset, String loadCommand) {
  public Preview {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(plan, "plan");
    Objects.requireNonNull(ruleset, "ruleset");
    Objects.requireNonNull(loadCommand, "loadCommand");
  }
}
