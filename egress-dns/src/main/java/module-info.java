/**
 * Name resolution on dnsjava: concurrent, shared, TTL-aware, never widening; and the filtering DNS
 * resolver that containers with {@code dns filter} query.
 */
module dev.egress.dns {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive org.dnsjava;
  requires org.slf4j;

  exports dev.egress.dns;
  exports dev.egress.dns.filter;
}
