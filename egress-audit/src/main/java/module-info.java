/**
 * The audit trail: every packet the filter refused as a record (who sent it, where to, why), its
 * published JSON Schema, a JSONL writer that never blocks enforcement, the parsers of the packet
 * filters' logs as tcpdump prints them (nftables' NFLOG groups, pf's {@code pflog0}), and the
 * trail's wiring into an enforcer's lifecycle, which the pf and nftables enforcers share.
 */
module dev.egress.audit {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive dev.egress.core;
  requires com.fasterxml.jackson.databind;

  exports dev.egress.audit;
}
