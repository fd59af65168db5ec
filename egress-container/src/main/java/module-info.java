/**
 * Container runtimes: Apple's {@code container} through its command line, Docker through its Engine
 * API.
 */
module dev.egress.container {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive dev.egress.process;
  requires com.fasterxml.jackson.databind;

  exports dev.egress.container;
}
