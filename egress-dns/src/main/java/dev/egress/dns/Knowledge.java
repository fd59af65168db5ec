package dev.egress.dns;

import dev.egress.policy.HostName;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * What the answer cache knows about one name: the state of each address family and the failure of
 * each family's latest answer. Immutable; every method is a pure function of its arguments.
 *
 * @param v4 what is held for IPv4
 * @param v6 what is held for IPv6
 * @param v4Error the failure of the latest lookup's IPv4 answer (two answers without addresses are
 *     an {@link FailureKind#EMPTY_ANSWER} of both families); null when it had addresses, had none
 *     while the other family had some, or no lookup finished yet
 * @param v6Error the same for IPv6
 */
record Knowledge(
    FamilyState v4, FamilyState v6, @Nullable LookupError v4Error, @Nullable LookupError v6Error) {

  /** Nothing known yet. */
  static final Knowledge NONE = new Knowledge(FamilyState.NOTHING, FamilyState.NOTHING, null, null);

  Knowledge {
    Objects.requireNonNull(v4, "v4");
    Objects.requireNonNull(v6, "v6");
  }

  /**
   * What is known once a lookup's answers have arrived, each at its own time (a TTL counts from its
   * answer's arrival). Two answers without addresses count as one {@link FailureKind#EMPTY_ANSWER}
   * failure of both families: the name exists but has neither A nor AAAA records.
   */
  Knowledge after(
      Answer ipv4, Instant ipv4Arrived, Answer ipv6, Instant ipv6Arrived, Timings timings) {
    if (ipv4 instanceof Answer.NoAddresses && ipv6 instanceof Answer.NoAddresses) {
      Instant last = ipv4Arrived.isAfter(ipv6Arrived) ? ipv4Arrived : ipv6Arrived;
      Answer empty =
          new Answer.Failed(
              new LookupError(FailureKind.EMPTY_ANSWER, "neither A nor AAAA records", last));
      ipv4 = empty;
      ipv6 = empty;
    }
    return new Knowledge(
        ipv4.applyTo(v4, ipv4Arrived, timings),
        ipv6.applyTo(v6, ipv6Arrived, timings),
        ipv4.error().orElse(null),
        ipv6.error().orElse(null));
  }

  /** The failure of the latest lookup (the IPv4 one when both failed); null when it succeeded. */
  @Nullable LookupError lastError() {
    return v4Error != null ? v4Error : v6Error;
  }

  /**
   * When to ask again after the lookup that led here finished at {@code now}: the earliest expiry
   * of the addresses the latest answers gave, or the retry interval after a failure if that is
   * sooner (a family answered well keeps its own TTL while the other's failure is retried).
   */
  Instant nextQuery(Instant now, Timings timings) {
    Instant retry = now.plus(timings.retryInterval());
    Optional<Instant> answered =
        Stream.of(
                v4Error == null ? v4 : FamilyState.NOTHING,
                v6Error == null ? v6 : FamilyState.NOTHING)
            .filter(FamilyState.Held.class::isInstance)
            .map(family -> ((FamilyState.Held) family).expires())
            .min(Comparator.naturalOrder());
    if (lastError() == null) {
      return answered.orElse(retry);
    }
    return answered.filter(expiry -> expiry.isBefore(retry)).orElse(retry);
  }

  /** The addresses published at {@code now}: each family's, while {@code now < expiry + grace}. */
  Set<InetAddress> published(Instant now, Duration grace) {
    Set<InetAddress> a = v4.publishedAt(now, grace);
    Set<InetAddress> b = v6.publishedAt(now, grace);
    if (a.isEmpty() || b.isEmpty()) {
      return a.isEmpty() ? b : a;
    }
    Set<InetAddress> union = new HashSet<>(a);
    union.addAll(b);
    return Set.copyOf(union);
  }

  /**
   * What a DNS filter may answer for {@code family} at {@code now}: its addresses while fresh, no
   * such name after NXDOMAIN, none after an answer without them; a failure otherwise (the family's
   * latest answer failed, was REFUSED, or its addresses are past their expiry). The other family's
   * failure does not matter: each family is its own question.
   */
  NameAnswer answerFor(AddressFamily family, Instant now) {
    return family == AddressFamily.IPV4 ? answerOf(v4, v4Error, now) : answerOf(v6, v6Error, now);
  }

  /**
   * What a DNS filter may answer at {@code now} for a family whose {@code answer} arrived at {@code
   * arrived}, before the other family's: what {@link #answerFor} says once the lookup finishes.
   */
  static NameAnswer answerOnArrival(Answer answer, Instant arrived, Instant now, Timings timings) {
    return answerOf(
        answer.applyTo(FamilyState.NOTHING, arrived, timings), answer.error().orElse(null), now);
  }

  private static NameAnswer answerOf(FamilyState state, @Nullable LookupError error, Instant now) {
    if (error != null) {
      FailureKind kind = error.kind();
      if (kind == FailureKind.NXDOMAIN) {
        return new NameAnswer.NoSuchName();
      }
      return kind == FailureKind.EMPTY_ANSWER
          ? new NameAnswer.Addresses(Set.of(), now)
          : new NameAnswer.Failed(error);
    }
    if (state instanceof FamilyState.Held held) {
      return now.isBefore(held.expires())
          ? new NameAnswer.Addresses(held.addresses(), held.expires())
          : new NameAnswer.Failed(
              new LookupError(FailureKind.TIMEOUT, "no fresh answer since " + held.expires(), now));
    }
    return new NameAnswer.Addresses(Set.of(), now);
  }

  /** The earliest expiry of the held addresses. */
  Optional<Instant> earliestExpiry() {
    return held().map(FamilyState.Held::expires).min(Comparator.naturalOrder());
  }

  /** The first grace end after {@code now}: when {@link #published} next shrinks by time alone. */
  Optional<Instant> nextGraceEnd(Instant now, Duration grace) {
    return held()
        .map(family -> family.graceEnds(grace))
        .filter(end -> end.isAfter(now))
        .min(Comparator.naturalOrder());
  }

  /** When the last held addresses go if every lookup fails from now on. */
  Optional<Instant> lastGraceEnd(Duration grace) {
    return held().map(family -> family.graceEnds(grace)).max(Comparator.naturalOrder());
  }

  /**
   * The operator's view at {@code now}: addresses published, their earliest expiry, and — for
   * families kept past their expiry — when their grace ends.
   */
  NameStatus status(HostName name, Instant now, Duration grace, int subscribers) {
    Instant expires = null;
    Instant graceEnds = null;
    for (FamilyState.Held family : held().toList()) {
      if (family.publishedAt(now, grace).isEmpty()) {
        continue;
      }
      expires = expires == null || family.expires().isBefore(expires) ? family.expires() : expires;
      Instant end = family.graceEnds(grace);
      if (!now.isBefore(family.expires()) && (graceEnds == null || end.isAfter(graceEnds))) {
        graceEnds = end;
      }
    }
    return new NameStatus(
        name, published(now, grace), expires, lastError(), graceEnds, subscribers);
  }

  private Stream<FamilyState.Held> held() {
    return Stream.of(v4, v6)
        .filter(FamilyState.Held.class::isInstance)
        .map(FamilyState.Held.class::cast);
  }
}
