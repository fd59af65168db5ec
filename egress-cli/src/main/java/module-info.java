/**
 * egressctl, the operator's command line: check, render, doctor, verify, status, cleanup, logs,
 * sudoers.
 */
module dev.egress.cli {
  requires static org.jspecify;
  requires dev.egress.pf;
  requires dev.egress.nftables;
  requires dev.egress.core;
  requires dev.egress.dns;
  requires dev.egress.process;
  requires dev.egress.audit;
  // verify starts a throwaway container.
  requires dev.egress.container;
  // egressd's configuration file: the guard cleanup keeps and status checks.
  requires dev.egress.daemon;
  requires info.picocli;

  // picocli fills the commands' annotated fields by reflection.
  opens dev.egress.cli to
      info.picocli;
}
