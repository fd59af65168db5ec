package dev.egress.dns;

import java.time.Duration;
import java.util.Objects;

/**
 * How long the answer cache waits for, keeps and retries answers, all measured on its clock.
 *
 * @param queryTimeout how long a lookup may take; a family still unanswered then counts as {@link
 *     FailureKind#TIMEOUT}
 * @param ttlFloor the shortest time an answer's addresses are kept, however small their TTL
 * @param ttlCeiling the longest time they are kept before the name is asked again
 * @param grace how long after their expiry addresses are kept while lookups fail to get an answer
 * @param retryInterval how soon a failed lookup, or a name without addresses, is asked again
 */
record Timings(
    Duration queryTimeout,
    Duration ttlFloor,
    Duration ttlCeiling,
    Duration grace,
    Duration retryInterval) {

  /** The longest duration accepted anywhere: no answer is kept for a century. */
  static final Duration LONGEST = Duration.ofDays(36_525);

  /**
   * @throws IllegalArgumentException if a duration is negative, zero (all but grace) or longer than
   *     {@link #LONGEST}, or if the floor is above the ceiling
   */
  Timings {
    positive(queryTimeout, "query timeout");
    positive(ttlFloor, "TTL floor");
    positive(ttlCeiling, "TTL ceiling");
    notNegative(grace, "grace");
    positive(retryInterval, "retry interval");
    if (ttlFloor.compareTo(ttlCeiling) > 0) {
      throw new IllegalArgumentException(
          "TTL floor " + ttlFloor + " is above TTL ceiling " + ttlCeiling + "; lower the floor");
    }
  }

  /** How long addresses with {@code ttl} are kept: the TTL clamped to [floor, ceiling]. */
  Duration clamp(Duration ttl) {
    return ttl.compareTo(ttlFloor) < 0
        ? ttlFloor
        : ttl.compareTo(ttlCeiling) > 0 ? ttlCeiling : ttl;
  }

  static Duration positive(Duration duration, String what) {
    if (notNegative(duration, what).isZero()) {
      throw new IllegalArgumentException(what + " must be positive: " + duration);
    }
    return duration;
  }

  static Duration notNegative(Duration duration, String what) {
    Objects.requireNonNull(duration, what);
    if (duration.isNegative()) {
      throw new IllegalArgumentException(what + " must not be negative: " + duration);
    }
    if (duration.compareTo(LONGEST) > 0) {
      throw new IllegalArgumentException(what + " must be at most 100 years: " + duration);
    }
    return duration;
  }
}
