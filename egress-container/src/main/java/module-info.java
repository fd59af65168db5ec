/** Container runtimes driven through their command lines: Apple's {@code container} and Docker. */
module dev.egress.container {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive dev.egress.process;
  requires com.fasterxml.jackson.databind;

  exports dev.egress.container;
}
