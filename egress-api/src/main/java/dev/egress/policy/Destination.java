package dev.egress.policy;

/**
 * Where a policy lets a container connect: a host name, an IP network, the container's gateway, or
 * — only when asked for by name — any address at all.
 */
public sealed interface Destination extends Comparable<Destination>
    permits Destination.Host,
        Destination.Network,
        Destination.Gateway,
        Destination.UnsafeAnyAddress {

  /** The addresses {@code name} resolves to, as the enforcer's resolver currently sees them. */
  record Host(HostName name) implements Destination {
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
    public String toString() {
      return network.toString();
    }
  }

  /** The container's gateway address: host services such as a credential proxy. */
  record Gateway() implements Destination {
    public static final String KEYWORD = "gateway";

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
    if (this instanceof Network a && other instanceof Network b) {
      return a.network().compareTo(b.network());
    }
    if (this instanceof Host a && other instanceof Host b) {
      return a.name().compareTo(b.name());
    }
    return 0;
  }

  private static int kindOrder(Destination destination) {
    if (destination instanceof Gateway) {
      return 0;
    } else if (destination instanceof Network) {
      return 1;
    } else if (destination instanceof Host) {
      return 2;
    }
    return 3;
  }
}
