package dev.egress.nftables;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.RuleSetName;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Resolutions;
import java.util.List;

/**
 * One container's rule set as the nftables tests give it: its name, and what its plan is made of
 * (the same inputs the enforcer plans from).
 */
record Rules(
    RuleSetName name, ContainerEndpoint container, EgressPolicy policy, Resolutions resolutions) {

  ChainName chain() {
    return ChainName.of(name);
  }

  EnforcementPlan plan() {
    return EnforcementPlan.of(policy, container, resolutions);
  }

  String install(NftRenderer renderer) {
    return renderer.install(chain(), plan());
  }

  List<String> chainRules() {
    return new NftRenderer("egress").chainRules(chain(), plan());
  }
}
