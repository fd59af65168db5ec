/**
 * The egress policy model and the enforcer SPI.
 *
 * <p>{@code dev.egress.policy} holds immutable policy values, the policy text format and the one
 * decision function every enforcer and test agrees with; {@code dev.egress.enforcer} holds the SPI
 * that container launchers call; {@code dev.egress.plan} holds the backend-neutral plan that
 * renderers print.
 */
module dev.egress.api {
  requires static org.jspecify;

  exports dev.egress.policy;
  exports dev.egress.enforcer;
  exports dev.egress.plan;
}
