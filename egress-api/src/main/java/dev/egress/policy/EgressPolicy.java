package dev.egress.policy;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * What one container may reach; everything else is denied.
 *
 * <p>Semantics, decided by {@link #permits} and nowhere else:
 *
 * <ul>
 *   <li>A TCP or UDP flow to port 53 is DNS. It is allowed only to the resolvers the {@link
 *       DnsRule} names (under {@code dns filter}, the enforcer's filter alone); allow rules never
 *       open port 53, even when their port range spans it.
 *   <li>Any other flow is allowed when some {@link Allowance} has its protocol, a port range
 *       holding its port, and a destination holding its address: a network containing it, a host
 *       name whose set currently holds it (for an exact name what it resolves to; for a wildcard
 *       the addresses a DNS filter granted for names it covers), the container's gateway when that
 *       is the address, or {@link Destination.UnsafeAnyAddress}.
 *   <li>Everything else is denied: other protocols (ICMP included), other ports, other addresses,
 *       names that resolve to nothing, and the gateway when the container's gateway is unknown.
 * </ul>
 *
 * <p>For DNS filtering, {@link #namesCovering} decides which queries are answered: a name some
 * allow line's host name {@link HostName#covers covers} (whatever that line's ports); any other
 * name is refused.
 *
 * <p>Allowances are normalised: sorted, with overlapping or adjacent port ranges of the same
 * destination and protocol merged, so that equal policies are equal values and {@link
 * PolicyText#parse} of {@link PolicyText#format} gives back an equal policy.
 *
 * @param allowances what is allowed, normalised
 * @param dns which resolvers the container may query
 * @param logDenied whether enforcers log what they deny
 */
public record EgressPolicy(List<Allowance> allowances, DnsRule dns, boolean logDenied) {
  private static final Destination.Cases<Optional<HostName>> HOST_NAME =
      new Destination.Cases<>() {
        @Override
        public Optional<HostName> host(HostName name) {
          return Optional.of(name);
        }

        @Override
        public Optional<HostName> network(IpNetwork network) {
          return Optional.empty();
        }

        @Override
        public Optional<HostName> gateway() {
          return Optional.empty();
        }

        @Override
        public Optional<HostName> unsafeAnyAddress() {
          return Optional.empty();
        }
      };

  private static final Destination.Cases<Boolean> IS_GATEWAY =
      new Destination.Cases<>() {
        @Override
        public Boolean host(HostName name) {
          return false;
        }

        @Override
        public Boolean network(IpNetwork network) {
          return false;
        }

        @Override
        public Boolean gateway() {
          return true;
        }

        @Override
        public Boolean unsafeAnyAddress() {
          return false;
        }
      };

  /**
   * @throws IllegalArgumentException if an allowance names port 53 alone (DNS is the {@link
   *     DnsRule}'s business), or if networks together allow every IPv4 or every IPv6 address for
   *     some protocol and port that no {@link Destination.UnsafeAnyAddress} allowance opens (that
   *     is a /0 network by parts: any address is granted by name only)
   */
  public EgressPolicy {
    Objects.requireNonNull(dns, "dns");
    allowances = normalise(allowances);
    Optional<FamilyCover> cover = FamilyCover.find(allowances);
    if (cover.isPresent()) {
      throw new IllegalArgumentException(cover.get().message(allowances, "the networks"));
    }
  }

  /** A policy that allows nothing, DNS included. */
  public static EgressPolicy denyAll() {
    return new EgressPolicy(List.of(), DnsRule.none(), false);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Whether a container whose gateway is {@code gateway} (null when unknown) may open {@code flow}
   * while host names resolve as {@code resolutions} says.
   */
  public boolean permits(Flow flow, @Nullable InetAddress gateway, Resolutions resolutions) {
    return permits(flow, gateway, null, resolutions);
  }

  /**
   * Whether a container whose gateway is {@code gateway} and whose enforcer's DNS filter listens on
   * {@code dnsFilter} (each null when unknown or absent) may open {@code flow} while host names'
   * sets hold what {@code resolutions} says. Under {@code dns filter} without a filter no port-53
   * flow is allowed.
   */
  public boolean permits(
      Flow flow,
      @Nullable InetAddress gateway,
      @Nullable InetAddress dnsFilter,
      Resolutions resolutions) {
    InetAddress target = flow.destination();
    if (flow.port() == PortRange.DNS_PORT) {
      return dns.match(
          new DnsRule.Cases<Boolean>() {
            @Override
            public Boolean viaGateway() {
              return target.equals(gateway);
            }

            @Override
            public Boolean servers(List<InetAddress> addresses) {
              return addresses.contains(target);
            }

            @Override
            public Boolean none() {
              return false;
            }

            @Override
            public Boolean filter() {
              return target.equals(dnsFilter);
            }
          });
    }
    for (Allowance allowance : allowances) {
      if (allowance.protocol() == flow.protocol()
          && allowance.ports().contains(flow.port())
          && holds(allowance.destination(), target, gateway, resolutions)) {
        return true;
      }
    }
    return false;
  }

  private static boolean holds(
      Destination destination,
      InetAddress target,
      @Nullable InetAddress gateway,
      Resolutions resolutions) {
    return destination.match(
        new Destination.Cases<Boolean>() {
          @Override
          public Boolean host(HostName name) {
            return resolutions.addressesOf(name).contains(target);
          }

          @Override
          public Boolean network(IpNetwork network) {
            return network.contains(target);
          }

          @Override
          public Boolean gateway() {
            return target.equals(gateway);
          }

          @Override
          public Boolean unsafeAnyAddress() {
            return true;
          }
        });
  }

  /** The host names to resolve, wildcards excluded, sorted. */
  public SortedSet<HostName> hostNames() {
    return names(false);
  }

  /**
   * The wildcard host names ({@code *.example.com}) the policy allows, sorted: only an enforcer
   * that filters DNS can honour them. Others must refuse such a policy.
   */
  public SortedSet<HostName> wildcardNames() {
    return names(true);
  }

  /**
   * The host names of allow lines (exact or wildcard, sorted) that cover a DNS query for {@code
   * asked}: a filter answers the query only when this is not empty, and grants the answer's
   * addresses to these names' sets. The ports of the lines play no part.
   */
  public SortedSet<HostName> namesCovering(HostName asked) {
    TreeSet<HostName> covering = new TreeSet<>();
    for (Allowance allowance : allowances) {
      allowance
          .destination()
          .match(HOST_NAME)
          .filter(name -> name.covers(asked))
          .ifPresent(covering::add);
    }
    return covering;
  }

  /** Whether the policy's DNS rule is {@code dns filter}. */
  public boolean filtersDns() {
    return dns.match(
        new DnsRule.Cases<Boolean>() {
          @Override
          public Boolean viaGateway() {
            return false;
          }

          @Override
          public Boolean servers(List<InetAddress> addresses) {
            return false;
          }

          @Override
          public Boolean none() {
            return false;
          }

          @Override
          public Boolean filter() {
            return true;
          }
        });
  }

  /**
   * Whether only an enforcer with a DNS filter can enforce the policy: its DNS rule is {@code dns
   * filter}, or it names a wildcard host ({@link #wildcardNames} is not empty).
   */
  public boolean requiresDnsFiltering() {
    return filtersDns() || !wildcardNames().isEmpty();
  }

  /** Whether the policy refers to the container's gateway (as a destination or as resolver). */
  public boolean usesGateway() {
    boolean resolver =
        dns.match(
            new DnsRule.Cases<Boolean>() {
              @Override
              public Boolean viaGateway() {
                return true;
              }

              @Override
              public Boolean servers(List<InetAddress> addresses) {
                return false;
              }

              @Override
              public Boolean none() {
                return false;
              }

              @Override
              public Boolean filter() {
                return false;
              }
            });
    return resolver || allowances.stream().anyMatch(a -> a.destination().match(IS_GATEWAY));
  }

  private TreeSet<HostName> names(boolean wildcards) {
    TreeSet<HostName> names = new TreeSet<>();
    for (Allowance allowance : allowances) {
      allowance
          .destination()
          .match(HOST_NAME)
          .filter(name -> name.isWildcard() == wildcards)
          .ifPresent(names::add);
    }
    return names;
  }

  /** The canonical policy text; see {@link PolicyText#format}. */
  @Override
  public String toString() {
    return PolicyText.format(this);
  }

  private static List<Allowance> normalise(Collection<Allowance> allowances) {
    Map<Destination, Map<Protocol, List<PortRange>>> grouped = new TreeMap<>();
    for (Allowance allowance : allowances) {
      if (allowance.ports().equals(PortRange.of(PortRange.DNS_PORT))) {
        throw new IllegalArgumentException(
            "'"
                + allowance
                + "' names port 53, which is DNS: list resolvers with 'dns ADDRESS'"
                + " (or 'dns gateway') instead");
      }
      grouped
          .computeIfAbsent(allowance.destination(), d -> new TreeMap<>())
          .computeIfAbsent(allowance.protocol(), p -> new ArrayList<>())
          .add(allowance.ports());
    }
    List<Allowance> result = new ArrayList<>();
    grouped.forEach(
        (destination, byProtocol) ->
            byProtocol.forEach(
                (protocol, ranges) -> {
                  for (PortRange merged : merge(ranges)) {
                    result.add(new Allowance(destination, protocol, merged));
                  }
                }));
    return List.copyOf(result);
  }

  private static List<PortRange> merge(List<PortRange> ranges) {
    List<PortRange> sorted = new ArrayList<>(ranges);
    sorted.sort(null);
    List<PortRange> merged = new ArrayList<>();
    PortRange current = sorted.get(0);
    for (PortRange next : sorted.subList(1, sorted.size())) {
      if (next.first() <= current.last() + 1) {
        current = new PortRange(current.first(), Math.max(current.last(), next.last()));
      } else {
        merged.add(current);
        current = next;
      }
    }
    merged.add(current);
    return merged;
  }

  /** Collects allowances one at a time; each method checks its arguments at once. */
  public static final class Builder {
    private final List<Allowance> allowances = new ArrayList<>();
    private DnsRule dns = DnsRule.gateway();
    private boolean logDenied;

    private Builder() {}

    /** Allows TCP to {@code destination} on {@code port}. */
    public Builder allowTcp(Destination destination, int port) {
      return allow(destination, Protocol.TCP, PortRange.of(port));
    }

    public Builder allow(Destination destination, Protocol protocol, PortRange ports) {
      allowances.add(new Allowance(destination, protocol, ports));
      return this;
    }

    /** The resolvers the container may query; the default is its gateway. */
    public Builder dns(DnsRule rule) {
      this.dns = Objects.requireNonNull(rule, "rule");
      return this;
    }

    public Builder logDenied(boolean log) {
      this.logDenied = log;
      return this;
    }

    /**
     * @throws IllegalArgumentException as {@link EgressPolicy#EgressPolicy} does
     */
    public EgressPolicy build() {
      return new EgressPolicy(allowances, dns, logDenied);
    }
  }
}
