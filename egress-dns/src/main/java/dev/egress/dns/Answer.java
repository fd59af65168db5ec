package dev.egress.dns;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What a lookup got for one address family of a name, as an {@link Upstream} reports it. Each kind
 * says how it changes what the cache holds for the family. Immutable.
 */
sealed interface Answer permits Answer.Addresses, Answer.NoAddresses, Answer.Failed {

  /** The family's state once this answer arrives at {@code now}. */
  FamilyState applyTo(FamilyState before, Instant now, Timings timings);

  /** The failure this answer reports; empty for an answer with or without addresses. */
  Optional<LookupError> error();

  /**
   * An answer with usable addresses.
   *
   * @param addresses at least one address, none of them {@link UnusableAddress unusable}
   * @param ttl the smallest TTL among them
   */
  record Addresses(Set<InetAddress> addresses, Duration ttl) implements Answer {
    public Addresses {
      addresses = Set.copyOf(addresses);
      if (addresses.isEmpty()) {
        throw new IllegalArgumentException("an answer with addresses has at least one");
      }
      if (ttl.isNegative()) {
        throw new IllegalArgumentException("TTL must not be negative: " + ttl);
      }
    }

    @Override
    public FamilyState applyTo(FamilyState before, Instant now, Timings timings) {
      return new FamilyState.Held(addresses, now.plus(timings.clamp(ttl)));
    }

    @Override
    public Optional<LookupError> error() {
      return Optional.empty();
    }
  }

  /**
   * An answer without a usable address of the family (NODATA, or only addresses the table of
   * unusable addresses drops): the family has none from now on.
   */
  record NoAddresses() implements Answer {
    @Override
    public FamilyState applyTo(FamilyState before, Instant now, Timings timings) {
      return FamilyState.NOTHING;
    }

    @Override
    public Optional<LookupError> error() {
      return Optional.empty();
    }
  }

  /**
   * No usable answer. After a failure to get an answer the family keeps what it held, which then
   * lasts until its expiry plus grace; after an answer that the name changed (NXDOMAIN, REFUSED,
   * neither A nor AAAA) it holds nothing from now on. See {@link FailureKind#graceApplies()}.
   */
  record Failed(LookupError failure) implements Answer {
    public Failed {
      Objects.requireNonNull(failure, "failure");
    }

    @Override
    public FamilyState applyTo(FamilyState before, Instant now, Timings timings) {
      return failure.kind().graceApplies() ? before : FamilyState.NOTHING;
    }

    @Override
    public Optional<LookupError> error() {
      return Optional.of(failure);
    }
  }
}
