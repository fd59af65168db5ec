/** The Linux enforcer on nftables. */
module dev.egress.nftables {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive dev.egress.core;
  requires transitive dev.egress.process;
  requires org.slf4j;

  exports dev.egress.nftables;
}
