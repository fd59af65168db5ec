/** A container launcher with egress control built in, and a runnable demo. */
module dev.egress.examples {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive dev.egress.process;
  requires dev.egress.pf;
  requires dev.egress.nftables;
  requires dev.egress.core;
  requires dev.egress.lab;
  requires com.fasterxml.jackson.databind;

  exports dev.egress.examples.container;
  exports dev.egress.examples.launcher;
}
