package dev.egress.core;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.RuleSetName;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Resolutions;

/**
 * Everything a backend needs to render one container's rules: who, what policy, and what the
 * policy's names resolve to now.
 *
 * @param name the backend rule-set name for the container ({@link FirewallBackend#ruleSetName})
 */
public record ContainerRules(
    RuleSetName name, ContainerEndpoint container, EgressPolicy policy, Resolutions resolutions) {}
