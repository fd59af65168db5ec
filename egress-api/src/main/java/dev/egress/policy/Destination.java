package dev.egress.policy;

/**
 * Where a policy lets a container connect: a host name, an IP network, the container's gateway, or
 * — only when asked for by name — any address at all.
 *
 * <p>Code that acts on the kind of a destination calls {@link #match} with one method per kind, so
 * that a new kind fails to compile wherever it is not handled (Java 17 has no exhaustive switch
 * over sealed types).
 */
public sealed interface Destination extends Comparable<Destination>
    permits Destination.Host,
        Destination.Network,
        Destination.Gateway,
        Destination.UnsafeAnyAddress {

  /** The result of the method of {@code cases} for this destination's kind. */
  <R> R match(Cases<R> cases);

  /**
   * One method per kind of destination, for {@link #match}.
   *
   * @param <R> what each method returns
   */
  interface Cases<R> {
    R host(HostName name);

    R network(IpNetwork network);

    R gateway();

    R unsafeAnyAddress();
  }

  /** The addresses {@code name} resolves to, as the enforcer's resolver currently sees them. */
  record Host(HostName name) implements Destination {
    @Override
    public <R> R match(Cases<R> cases) {
      return cases.host(name);
    }

    /**
     * The name as policy files write it; a name spelt like a keyword ({@code gateway}) gets its
     * trailing dot, so that it parses back as a host name.
     */
    @Override
    public String toString() {
      String text = name.toString();
      return text.equals(Gateway.KEYWORD) || text.equals(UnsafeAnyAddress.KEYWORD)
          ? text + "."
          : text;
    }
  }

  /**
   * Every address in {@code network}. A /0 network is refused: that is {@link UnsafeAnyAddress}
   * (and so is a policy whose networks cover a family by parts; see {@link EgressPolicy}).
   */
  record Network(IpNetwork network) implements Destination {
    public Network {
      if (network.prefixLength() == 0) {
        throw new IllegalArgumentException(
            network
                + " allows every address: if that is really meant, write '"
                + UnsafeAnyAddress.KEYWORD
                + "' as the destination");
      }
    }

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.network(network);
    }

    @Override
    public String toString() {
      return network.toString();
    }
  }

  /** The container's gateway address: host services such as a credential proxy. */
  record Gateway() implements Destination {
    public static final String KEYWORD = "gateway";

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.gateway();
    }

    @Override
    public String toString() {
      return KEYWORD;
    }
  }

  /**
   * Every IPv4 and IPv6 address. This is the escape hatch that turns egress control off for the
   * given protocol and ports; it exists so that nobody writes {@code 0.0.0.0/0} by accident.
   */
  record UnsafeAnyAddress() implements Destination {
    public static final String KEYWORD = "unsafe-any-address";

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.unsafeAnyAddress();
    }

    @Override
    public String toString() {
      return KEYWORD;
    }
  }

  static Destination host(String name) {
    return new Host(HostName.of(name));
  }

  static Destination network(String cidr) {
    return new Network(IpNetwork.parse(cidr));
  }

  static Destination gateway() {
    return new Gateway();
  }

  static Destination unsafeAnyAddress() {
    return new UnsafeAnyAddress();
  }

  /**
   * Parses a destination as policy files write it: {@code gateway}, {@code unsafe-any-address}, an
   * address or CIDR network, or a host name. Keywords are lower case, and a name that normalises to
   * a keyword ({@code Gateway}, {@code UNSAFE-ANY-ADDRESS}, full-width letters) is refused rather
   * than guessed at: it names a host only with a trailing dot ({@code gateway.}), which makes every
   * name a host name.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  static Destination parse(String text) {
    if (text.equals(Gateway.KEYWORD)) {
      return new Gateway();
    }
    if (text.equals(UnsafeAnyAddress.KEYWORD)) {
      return new UnsafeAnyAddress();
    }
    if (text.indexOf('/') >= 0 || IpAddresses.looksLikeAddress(text)) {
      return new Network(IpNetwork.parse(text));
    }
    HostName name = HostName.of(text);
    String spelt = name.ascii();
    if (!text.endsWith(".")
        && (spelt.equals(Gateway.KEYWORD) || spelt.equals(UnsafeAnyAddress.KEYWORD))) {
      throw new IllegalArgumentException(
          UserText.quote(text)
              + " is not the keyword '"
              + spelt
              + "' (keywords are lower case): write '"
              + spelt
              + "' for "
              + (spelt.equals(Gateway.KEYWORD) ? "the container's gateway" : "any address")
              + ", or '"
              + spelt
              + ".' for a host of that name");
    }
    return new Host(name);
  }

  /** Canonical order: gateway, networks, host names, then the unsafe catch-all. */
  @Override
  default int compareTo(Destination other) {
    int byKind = Integer.compare(kindOrder(this), kindOrder(other));
    if (byKind != 0) {
      return byKind;
    }
    // Same kind: the casts below cannot fail.
    return match(
        new Cases<Integer>() {
          @Override
          public Integer host(HostName name) {
            return name.compareTo(((Host) other).name());
          }

          @Override
          public Integer network(IpNetwork network) {
            return network.compareTo(((Network) other).network());
          }

          @Override
          public Integer gateway() {
            return 0;
          }

          @Override
          public Integer unsafeAnyAddress() {
            return 0;
          }
        });
  }

  private static int kindOrder(Destination destination) {
    return destination.match(
        new Cases<Integer>() {
          @Override
          public Integer gateway() {
            return 0;
          }

          @Override
          public Integer network(IpNetwork network) {
            return 1;
          }

          @Override
          public Integer host(HostName name) {
            return 2;
          }

          @Override
          public Integer unsafeAnyAddress() {
            return 3;
          }
        });
  }
}
