package dev.egress.dns;

import java.io.IOException;

/** The upstream answered REFUSED: it will not serve the query. */
final class RefusedException extends IOException {
  private static final long serialVersionUID = 1L;

  RefusedException() {
    super("the server answered REFUSED");
  }
}
