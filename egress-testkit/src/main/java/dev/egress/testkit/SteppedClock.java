package dev.egress.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;

/** A UTC clock that stands still until a test moves it. Thread-safe. */
public final class SteppedClock extends Clock {
  private volatile Instant now;

  /** A clock that reads {@code start} until moved. */
  public SteppedClock(Instant start) {
    this.now = Objects.requireNonNull(start, "start");
  }

  /** A clock that reads 2026-01-01T00:00:00Z until moved. */
  public SteppedClock() {
    this(Instant.parse("2026-01-01T00:00:00Z"));
  }

  /**
   * Moves the clock forward by {@code duration}.
   *
   * @throws IllegalArgumentException if {@code duration} is negative
   */
  public synchronized void advance(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("a clock moves forward only, got " + duration);
    }
    now = now.plus(duration);
  }

  @Override
  public Instant instant() {
    return now;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("the stepped clock is UTC only");
  }
}
