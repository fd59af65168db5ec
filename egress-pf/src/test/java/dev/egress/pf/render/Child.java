package dev.egress.pf.render;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Resolutions;

/**
 * One container as the renderer tests give it: its anchor name, and what its plan is made of (the
 * same inputs the enforcer plans from).
 */
record Child(
    AnchorName name, ContainerEndpoint container, EgressPolicy policy, Resolutions resolutions) {

  EnforcementPlan plan() {
    return EnforcementPlan.of(policy, container, resolutions);
  }

  ChildRuleset render() throws UnsupportedPolicyException {
    return PfRenderer.renderChild(name, plan());
  }
}
