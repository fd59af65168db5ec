/**
 * Micrometer meters for an egress enforcer: per-container traffic gauges, attach and reconcile
 * timers, and counts of the enforcer's events. Optional: the enforcers do not depend on it.
 */
module dev.egress.micrometer {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive micrometer.core;

  exports dev.egress.micrometer;
}
