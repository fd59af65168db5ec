package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** What a DNS filter may answer from what the cache knows: {@link Knowledge#answerFor}. */
class KnowledgeAnswerTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private static final InetAddress V4 = dev.egress.policy.IpAddresses.parse("192.0.2.1");
  private static final InetAddress V6 = dev.egress.policy.IpAddresses.parse("2001:db8::1");

  private static LookupError error(FailureKind kind) {
    return new LookupError(kind, "test", NOW);
  }

  /** What is known after a lookup whose answers for both families failed with {@code error}. */
  private static Knowledge knowing(FamilyState v4, FamilyState v6, LookupError error) {
    return new Knowledge(v4, v6, error, error);
  }

  @Test
  void freshAddresses_areAnsweredWithTheirExpiry_perFamily() {
    Instant expires = NOW.plusSeconds(60);
    Knowledge known = knowing(new FamilyState.Held(Set.of(V4), expires), FamilyState.NOTHING, null);

    assertEquals(
        new NameAnswer.Addresses(Set.of(V4), expires), known.answerFor(AddressFamily.IPV4, NOW));
    assertEquals(new NameAnswer.Addresses(Set.of(), NOW), known.answerFor(AddressFamily.IPV6, NOW));
  }

  @Test
  void addressesPastTheirExpiry_areAFailure_notAnAnswer() {
    Knowledge known =
        knowing(
            new FamilyState.Held(Set.of(V4), NOW.minusSeconds(1)),
            new FamilyState.Held(Set.of(V6), NOW.plus(Duration.ofMinutes(1))),
            null);

    assertEquals(
        FailureKind.TIMEOUT,
        ((NameAnswer.Failed) known.answerFor(AddressFamily.IPV4, NOW)).error().kind());
  }

  @Test
  void nxdomain_isNoSuchName_andAnEmptyAnswerIsNodata() {
    assertEquals(
        new NameAnswer.NoSuchName(),
        knowing(FamilyState.NOTHING, FamilyState.NOTHING, error(FailureKind.NXDOMAIN))
            .answerFor(AddressFamily.IPV4, NOW));
    assertEquals(
        new NameAnswer.Addresses(Set.of(), NOW),
        knowing(FamilyState.NOTHING, FamilyState.NOTHING, error(FailureKind.EMPTY_ANSWER))
            .answerFor(AddressFamily.IPV6, NOW));
  }

  @Test
  void everyOtherFailure_isAFailure_evenWithAddressesKeptInGrace() {
    for (FailureKind kind : FailureKind.values()) {
      if (kind == FailureKind.NXDOMAIN || kind == FailureKind.EMPTY_ANSWER) {
        continue;
      }
      Knowledge known =
          knowing(
              new FamilyState.Held(Set.of(V4), NOW.plusSeconds(60)),
              FamilyState.NOTHING,
              error(kind));
      assertEquals(
          new NameAnswer.Failed(error(kind)),
          known.answerFor(AddressFamily.IPV4, NOW),
          kind.name());
    }
  }

  @Test
  void oneFamilysFailure_doesNotFailTheOthersAnswer() {
    Instant expires = NOW.plusSeconds(60);
    Knowledge known =
        new Knowledge(
            new FamilyState.Held(Set.of(V4), expires),
            FamilyState.NOTHING,
            null,
            error(FailureKind.TIMEOUT));

    assertEquals(
        new NameAnswer.Addresses(Set.of(V4), expires), known.answerFor(AddressFamily.IPV4, NOW));
    assertEquals(
        new NameAnswer.Failed(error(FailureKind.TIMEOUT)),
        known.answerFor(AddressFamily.IPV6, NOW));
    assertEquals(error(FailureKind.TIMEOUT), known.lastError());
  }

  @Property(tries = 500)
  void anAnswerOnArrival_isWhatTheFinishedLookupAnswers_whateverWasKnownAndTheOtherFamilyGot(
      @ForAll("answers") Answer answer,
      @ForAll("answers") Answer other,
      @ForAll("familyStates") FamilyState before,
      @ForAll("failures") LookupError beforeError,
      @ForAll boolean beforeFailed,
      @ForAll @IntRange(max = 20_000) int readAfterMillis,
      @ForAll @IntRange(max = 5_000) int otherAfterMillis) {
    Timings timings =
        new Timings(
            Duration.ofSeconds(3),
            Duration.ofSeconds(10),
            Duration.ofHours(1),
            Duration.ofMinutes(5),
            Duration.ofSeconds(5));
    Knowledge known = knowing(before, before, beforeFailed ? beforeError : null);
    Instant read = NOW.plusMillis(readAfterMillis);

    Knowledge finished = known.after(answer, NOW, other, NOW.plusMillis(otherAfterMillis), timings);

    assertEquals(
        finished.answerFor(AddressFamily.IPV4, read),
        Knowledge.answerOnArrival(answer, NOW, read, timings));
  }

  @Provide
  Arbitrary<Answer> answers() {
    Arbitrary<Answer> addresses =
        Arbitraries.longs()
            .between(0, 30)
            .map(ttl -> new Answer.Addresses(Set.of(V4), Duration.ofSeconds(ttl)));
    return Arbitraries.oneOf(
        addresses, Arbitraries.just(new Answer.NoAddresses()), failures().map(Answer.Failed::new));
  }

  @Provide
  Arbitrary<FamilyState> familyStates() {
    return Arbitraries.oneOf(
        Arbitraries.just(FamilyState.NOTHING),
        Arbitraries.longs()
            .between(-400, 400)
            .map(offset -> new FamilyState.Held(Set.of(V6), NOW.plusSeconds(offset))));
  }

  @Provide
  Arbitrary<LookupError> failures() {
    return Arbitraries.of(FailureKind.class).map(KnowledgeAnswerTest::error);
  }
}
