/**
 * The audit trail: every packet the filter refused as a record (who sent it, where to, why), its
 * published JSON Schema, a JSONL writer that never blocks enforcement, and the parsers of the
 * packet filters' logs as tcpdump prints them (nftables' NFLOG groups, pf's {@code pflog0}).
 */
module dev.egress.audit {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires com.fasterxml.jackson.databind;

  exports dev.egress.audit;
}
