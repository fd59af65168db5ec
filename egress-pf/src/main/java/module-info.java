/** The macOS enforcer on pf. */
module dev.egress.pf {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive dev.egress.core;
  requires transitive dev.egress.process;
  requires transitive dev.egress.audit;
  requires org.slf4j;

  exports dev.egress.pf;
  exports dev.egress.pf.pfctl;
  exports dev.egress.pf.render;
}
