package dev.egress.dns;

/**
 * Why a lookup gave no usable addresses. Every kind keeps the last good addresses for the grace
 * time.
 */
public enum FailureKind {
  /** No answer within the query timeout. */
  TIMEOUT,
  /** The upstream answered SERVFAIL. */
  SERVFAIL,
  /** The name does not exist (NXDOMAIN). */
  NXDOMAIN,
  /** The name exists but has neither A nor AAAA records. */
  EMPTY_ANSWER,
  /** The upstream could not be reached (unreachable, refused connection, socket error). */
  NETWORK_ERROR,
  /** DNSSEC validation was on and the answer was bogus. */
  DNSSEC_BOGUS,
  /** Any other unusable answer: REFUSED or another error code, a CNAME loop or a too-long chain. */
  UNUSABLE_ANSWER
}
