package dev.egress.dns;

import java.time.Instant;
import java.util.Objects;

/**
 * The last failure of a name's lookup.
 *
 * @param kind what class of failure it was
 * @param detail a human-readable description (the upstream's error, the exception message)
 * @param at when the failure was seen, on the resolver's clock
 */
public record LookupError(FailureKind kind, String detail, Instant at) {
  public LookupError {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(detail, "detail");
    Objects.requireNonNull(at, "at");
  }
}
