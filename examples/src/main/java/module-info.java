/** A container launcher with egress control built in, and a runnable demo. */
module dev.egress.examples {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive dev.egress.process;
  // The launcher takes a ContainerRuntime.
  requires transitive dev.egress.container;
  requires dev.egress.pf;
  requires dev.egress.nftables;
  requires dev.egress.core;
  requires dev.egress.lab;
  requires dev.egress.dns;

  exports dev.egress.examples.launcher;
}
