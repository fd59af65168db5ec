package dev.egress.dns;

import java.io.IOException;

/** A DNSSEC-validating upstream found an answer bogus; the lookup counts as failed. */
final class DnssecBogusException extends IOException {
  private static final long serialVersionUID = 1L;

  DnssecBogusException(String reason) {
    super("DNSSEC validation failed: " + reason);
  }
}
