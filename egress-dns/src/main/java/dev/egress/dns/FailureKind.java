package dev.egress.dns;

/**
 * Why a lookup gave no usable addresses for a family, in two classes ({@link #graceApplies()}).
 *
 * <p><b>An answer that the name changed</b> ({@link #NXDOMAIN}, {@link #EMPTY_ANSWER}, {@link
 * #REFUSED}): the upstream spoke for the name, and no longer vouches for its addresses of the
 * family; they go at once, as they do for an answer with other addresses or none of the family.
 *
 * <p><b>A failure to get an answer</b> ({@link #TIMEOUT}, {@link #SERVFAIL}, {@link
 * #NETWORK_ERROR}, {@link #DNSSEC_BOGUS}, {@link #UNUSABLE_ANSWER}): nothing was learnt about the
 * name, so the addresses it last had are kept until their expiry plus the grace time, and the
 * lookup is retried meanwhile.
 */
public enum FailureKind {
  /** No answer within the query timeout. */
  TIMEOUT,
  /** The upstream answered SERVFAIL. */
  SERVFAIL,
  /** The name does not exist (NXDOMAIN): an answer, so its addresses go at once. */
  NXDOMAIN,
  /** The name exists but has neither A nor AAAA records: an answer, its addresses go at once. */
  EMPTY_ANSWER,
  /** The upstream could not be reached (unreachable, refused connection, socket error). */
  NETWORK_ERROR,
  /** DNSSEC validation was on and the answer was bogus. */
  DNSSEC_BOGUS,
  /**
   * Every upstream server answered REFUSED. Counted as an answer, so the family's addresses go at
   * once: a server that will not answer for a name no longer vouches for its addresses (dnsmasq
   * answers REFUSED for a type it holds no record of and cannot forward), and keeping them for the
   * grace time would keep addresses that may have passed to someone else.
   */
  REFUSED,
  /** Any other unusable answer: another error code, a CNAME loop or a too-long chain. */
  UNUSABLE_ANSWER;

  /**
   * Whether the family keeps its last addresses (until their expiry plus the grace time) after this
   * failure: true for failures to get an answer, false for answers that the name changed.
   */
  public boolean graceApplies() {
    return switch (this) {
      case TIMEOUT, SERVFAIL, NETWORK_ERROR, DNSSEC_BOGUS, UNUSABLE_ANSWER -> true;
      case NXDOMAIN, EMPTY_ANSWER, REFUSED -> false;
    };
  }
}
