package dev.egress.testkit.pf;

/** What pf does with a packet. */
public enum PfVerdict {
  PASS,
  BLOCK
}
