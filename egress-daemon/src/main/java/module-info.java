/**
 * egressd, the egress enforcer as a local service: one enforcer (nftables on Linux, pf on macOS)
 * and its resolver behind a Unix socket that speaks newline-delimited JSON
 * (docs/egressd-protocol.md in the repository). Only the configuration and the entry point are
 * exported; the protocol, the socket server and the service behind it are internal.
 */
module dev.egress.daemon {
  requires static org.jspecify;
  requires dev.egress.api;
  // DaemonConfig names the guard in their types (egressctl --config reads it).
  requires transitive dev.egress.nftables;
  requires transitive dev.egress.pf;
  requires dev.egress.dns;
  requires com.fasterxml.jackson.databind;
  requires org.slf4j;
  // SO_PEERCRED on Unix-domain channels: who is at the other end of a connection.
  requires jdk.net;
  // sun.misc.Signal: SIGHUP re-reads the policy files.
  requires jdk.unsupported;

  exports dev.egress.daemon;
}
