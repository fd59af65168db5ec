/** Name resolution on dnsjava: concurrent, shared, TTL-aware, never widening. */
module dev.egress.dns {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive org.dnsjava;
  requires org.slf4j;

  exports dev.egress.dns;
}
