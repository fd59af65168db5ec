package dev.egress.pf.render;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import org.jspecify.annotations.Nullable;

/**
 * One container as the renderer tests give it: its anchor name, and what its plan is made of (the
 * same inputs the enforcer plans from).
 */
record Child(
    AnchorName name,
    ContainerEndpoint container,
    EgressPolicy policy,
    Resolutions resolutions,
    @Nullable InetAddress dnsFilter) {

  /** A container of an enforcer without a DNS filter. */
  Child(
      AnchorName name, ContainerEndpoint container, EgressPolicy policy, Resolutions resolutions) {
    this(name, container, policy, resolutions, null);
  }

  EnforcementPlan plan() {
    return EnforcementPlan.of(policy, container, resolutions, dnsFilter);
  }

  ChildRuleset render() throws UnsupportedPolicyException {
    return PfRenderer.renderChild(name, plan());
  }
}
