package dev.egress.enforcer;

import java.util.Locale;

/** What a DNS filter answered to one query; see {@link EgressEvent.DnsQueried}. */
public enum DnsVerdict {
  /** An allowed name: answered with the addresses granted to the container (perhaps none). */
  ANSWERED,
  /** No allow line names it: NXDOMAIN, answered locally, nothing sent upstream. */
  REFUSED_NAME,
  /** An allowed name asked for a type other than A, AAAA or CNAME: NOERROR without an answer. */
  REFUSED_TYPE,
  /** An allowed name that does not exist upstream: NXDOMAIN from upstream, passed on. */
  NO_SUCH_NAME,
  /** The upstream failed or timed out: SERVFAIL, nothing granted. */
  UPSTREAM_FAILED,
  /** The addresses could not be put into the container's sets: SERVFAIL, nothing granted. */
  GRANT_FAILED,
  /** A query the filter cannot read (FORMERR), or an operation other than QUERY (NOTIMP). */
  MALFORMED;

  /** The verdict in lower case with hyphens, as events' wire form writes it. */
  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
