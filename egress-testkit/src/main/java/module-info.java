/**
 * Test support for users of the library: fakes (pfctl, the container CLI, DNS), a conformance kit,
 * evaluators, generators.
 */
module dev.egress.testkit {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive dev.egress.process;
  requires transitive dev.egress.lab;
  requires transitive org.dnsjava;
  requires transitive org.junit.jupiter.api;
  requires transitive net.jqwik.api;
  requires com.fasterxml.jackson.databind;

  exports dev.egress.testkit;
  exports dev.egress.testkit.pf;
  exports dev.egress.testkit.dns;
  exports dev.egress.testkit.container;
}
