package dev.egress.cli;

/** How egressctl reaches pf: the names egress-pf uses. */
final class PfSettings {
  private PfSettings() {}

  /** egress-pf's parent anchor; per-container anchors are its children. */
  static final String PARENT_ANCHOR = "com.apple/egress";
}
