package dev.egress.plan;

import dev.egress.policy.Protocol;
import java.util.Objects;

/**
 * One allow line of a plan: new connections over {@code protocol} to {@code ports} of {@code
 * target}.
 */
public record Allow(Protocol protocol, Ports ports, Target target) {
  public Allow {
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(ports, "ports");
    Objects.requireNonNull(target, "target");
  }

  /** Whether rules of {@code family} carry this line: see {@link Target#appliesTo}. */
  public boolean appliesTo(Family family) {
    return target.appliesTo(family);
  }
}
