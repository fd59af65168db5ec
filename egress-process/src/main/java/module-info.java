/** The one process runner: timeouts that kill the whole process tree, capped output, a seam. */
module dev.egress.process {
  requires static org.jspecify;

  exports dev.egress.process;
}
