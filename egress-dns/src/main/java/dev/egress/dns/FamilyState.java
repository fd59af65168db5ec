package dev.egress.dns;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/** What the answer cache holds for one address family of a name. Immutable. */
sealed interface FamilyState permits FamilyState.Nothing, FamilyState.Held {

  /** The one {@link Nothing}. */
  Nothing NOTHING = new Nothing();

  /** The addresses published at {@code now}. */
  Set<InetAddress> publishedAt(Instant now, Duration grace);

  /** No addresses: never answered, or the answer that counts had none. */
  record Nothing() implements FamilyState {
    @Override
    public Set<InetAddress> publishedAt(Instant now, Duration grace) {
      return Set.of();
    }
  }

  /**
   * The addresses of the last answer that had some, published until {@code expires + grace}.
   *
   * @param addresses at least one address
   * @param expires when their clamped TTL ends: the name is asked again then
   */
  record Held(Set<InetAddress> addresses, Instant expires) implements FamilyState {
    public Held {
      addresses = Set.copyOf(addresses);
      Objects.requireNonNull(expires, "expires");
      if (addresses.isEmpty()) {
        throw new IllegalArgumentException("held addresses must not be empty; use NOTHING");
      }
    }

    @Override
    public Set<InetAddress> publishedAt(Instant now, Duration grace) {
      return now.isBefore(graceEnds(grace)) ? addresses : Set.of();
    }

    /** When these addresses go even if every lookup since failed. */
    Instant graceEnds(Duration grace) {
      return expires.plus(grace);
    }
  }
}
