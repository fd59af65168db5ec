package dev.egress.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a DNS filter may answer from what the cache knows: {@link Knowledge#answerFor}. */
class KnowledgeAnswerTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private static final InetAddress V4 = dev.egress.policy.IpAddresses.parse("192.0.2.1");
  private static final InetAddress V6 = dev.egress.policy.IpAddresses.parse("2001:db8::1");

  private static LookupError error(FailureKind kind) {
    return new LookupError(kind, "test", NOW);
  }

  private static Knowledge knowing(FamilyState v4, FamilyState v6, LookupError error) {
    return new Knowledge(v4, v6, error);
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
}
