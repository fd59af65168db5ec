/** The enforcer lifecycle shared by the pf and nftables enforcers. */
module dev.egress.core {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires org.slf4j;

  exports dev.egress.core;
}
