package dev.egress.dns;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link DnsNameResolver#answer} knows about one address family of a name, for a DNS filter
 * that answers a container's query from the shared cache. Immutable.
 *
 * <p>Code that acts on the kind calls {@link #match}, so that a new kind fails to compile wherever
 * it is not handled.
 */
public sealed interface NameAnswer
    permits NameAnswer.Addresses, NameAnswer.NoSuchName, NameAnswer.Failed {

  /** The result of the method of {@code cases} for this answer's kind. */
  <R> R match(Cases<R> cases);

  /**
   * One method per kind of answer, for {@link #match}.
   *
   * @param <R> what each method returns
   */
  interface Cases<R> {
    R addresses(Set<InetAddress> addresses, Instant expires);

    R noSuchName();

    R failed(LookupError error);
  }

  /**
   * The name exists; these are its fresh addresses of the family (none: NODATA, an answer without
   * records of the type), valid until {@code expires} (the answer's TTL, clamped as the cache
   * clamps it). Addresses the cache never publishes ({@link UnusableAddress}) are not among them.
   */
  record Addresses(Set<InetAddress> addresses, Instant expires) implements NameAnswer {
    public Addresses {
      addresses = Set.copyOf(addresses);
      Objects.requireNonNull(expires, "expires");
    }

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.addresses(addresses, expires);
    }
  }

  /** The upstream says the name does not exist (NXDOMAIN). */
  record NoSuchName() implements NameAnswer {
    @Override
    public <R> R match(Cases<R> cases) {
      return cases.noSuchName();
    }
  }

  /**
   * No fresh answer: the latest lookup failed (a timeout, SERVFAIL, a network error, REFUSED from
   * every server, a bogus DNSSEC answer). Addresses the cache keeps in grace are not offered: a
   * filter answers SERVFAIL instead.
   */
  record Failed(LookupError error) implements NameAnswer {
    public Failed {
      Objects.requireNonNull(error, "error");
    }

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.failed(error);
    }
  }
}
