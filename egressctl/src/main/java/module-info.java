/** egressctl, the operator's command line. */
module dev.egress.cli {
  requires static org.jspecify;
  requires dev.egress.pf;
  requires dev.egress.nftables;
  requires info.picocli;
}
