/**
 * The network-namespace lab (a host routing between container namespaces and a small internet) and
 * the DNS server it runs inside. No test framework: the demo runs on it.
 */
module dev.egress.lab {
  requires static org.jspecify;
  requires transitive dev.egress.api;
  requires transitive org.dnsjava;
  requires dev.egress.process;

  exports dev.egress.lab;
  exports dev.egress.lab.dns;
}
