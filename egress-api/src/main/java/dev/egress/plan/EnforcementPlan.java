package dev.egress.plan;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.policy.Allowance;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * What one container's rules must say, whatever the packet filter: computed once per install by
 * {@link #of} from the policy, the container's endpoint and the current resolutions, then printed
 * by a backend's renderer. It lets through exactly what {@link EgressPolicy#permits} allows ({@link
 * #permits} is that decision, read from the plan).
 *
 * <p>Everything but {@link #addresses} and {@link #grants} depends on the policy and the endpoint
 * alone: a change of what names resolve to, or of what the DNS filter granted, changes only the
 * address sets, so a backend replaces its tables or sets and leaves its rules alone.
 *
 * @param sources the container's source addresses, IPv4 first, as the endpoint lists them; its
 *     rules are keyed on these
 * @param resolvers the resolvers it may query over TCP and UDP port 53, in the DNS rule's order;
 *     the gateway stands for itself when known and for nothing otherwise; under {@code dns filter}
 *     the filter alone
 * @param dnsFilter under {@code dns filter}, the enforcer's DNS filter: the container's port-53
 *     traffic to any address is redirected there, and its name sets also hold what the filter
 *     grants (elements that expire); null otherwise, or when the enforcer has no filter (then no
 *     DNS is allowed at all)
 * @param allows the allow lines in the policy's order; none opens port 53, and a gateway line whose
 *     gateway is unknown is left out
 * @param addresses the names whose address sets the allow lines use, sorted, each with its current
 *     addresses (none when it resolves to nothing: the set is empty, never "any")
 * @param grants what the DNS filter granted, by name (among those of {@code addresses}): each
 *     address with the instant its grant ends. The name's set holds these too until then, kept
 *     apart from {@code addresses} because they expire on their own (nftables element timeouts) or
 *     are revoked by the enforcer (pf). Empty unless the plan has a {@code dnsFilter}; {@link
 *     #withGrants} adds them
 * @param logDenied whether the final deny logs what it refuses
 */
public record EnforcementPlan(
    List<InetAddress> sources,
    List<InetAddress> resolvers,
    @Nullable InetAddress dnsFilter,
    List<Allow> allows,
    SortedMap<HostName, Set<InetAddress>> addresses,
    SortedMap<HostName, Map<InetAddress, Instant>> grants,
    boolean logDenied) {

  /** The name of an address-set target; empty for the others. */
  private static final Target.Cases<Optional<HostName>> ADDRESS_SET_NAME =
      new Target.Cases<>() {
        @Override
        public Optional<HostName> network(IpNetwork network) {
          return Optional.empty();
        }

        @Override
        public Optional<HostName> addressSet(HostName name) {
          return Optional.of(name);
        }

        @Override
        public Optional<HostName> anyAddress() {
          return Optional.empty();
        }
      };

  public EnforcementPlan {
    sources = List.copyOf(sources);
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("a plan needs at least one source address");
    }
    resolvers = List.copyOf(resolvers);
    if (dnsFilter != null && !resolvers.equals(List.of(dnsFilter))) {
      throw new IllegalArgumentException(
          "a plan that redirects DNS to its filter has that filter as its only resolver");
    }
    allows = List.copyOf(allows);
    SortedMap<HostName, Set<InetAddress>> copy = new TreeMap<>();
    addresses.forEach((name, set) -> copy.put(name, Set.copyOf(set)));
    addresses = Collections.unmodifiableSortedMap(copy);
    SortedMap<HostName, Map<InetAddress, Instant>> grantsCopy = new TreeMap<>();
    grants.forEach(
        (name, granted) -> {
          if (!copy.containsKey(name)) {
            throw new IllegalArgumentException(
                "a grant to " + name + ", whose address set the plan does not hold");
          }
          if (!granted.isEmpty()) {
            grantsCopy.put(name, HashTrieMap.copyOf(granted));
          }
        });
    if (dnsFilter == null && !grantsCopy.isEmpty()) {
      throw new IllegalArgumentException("a plan without a DNS filter holds no grants");
    }
    grants = Collections.unmodifiableSortedMap(grantsCopy);
    for (Allow allow : allows) {
      allow
          .target()
          .match(ADDRESS_SET_NAME)
          .filter(name -> !copy.containsKey(name))
          .ifPresent(
              name -> {
                throw new IllegalArgumentException(
                    "allow line "
                        + allow
                        + " uses the address set of "
                        + name
                        + ", which the plan does not hold");
              });
    }
  }

  /**
   * The plan for {@code container} under {@code policy} while its names resolve as {@code
   * resolutions} says, for an enforcer without a DNS filter.
   */
  public static EnforcementPlan of(
      EgressPolicy policy, ContainerEndpoint container, Resolutions resolutions) {
    return of(policy, container, resolutions, null);
  }

  /**
   * The plan for {@code container} under {@code policy} while its names' sets hold what {@code
   * resolutions} says (for a wildcard, what the filter granted), for an enforcer whose DNS filter
   * listens on {@code dnsFilter} (null: none).
   */
  public static EnforcementPlan of(
      EgressPolicy policy,
      ContainerEndpoint container,
      Resolutions resolutions,
      @Nullable InetAddress dnsFilter) {
    @Nullable InetAddress gateway = container.gateway();
    List<Allow> allows = new ArrayList<>();
    SortedMap<HostName, Set<InetAddress>> addresses = new TreeMap<>();
    for (Allowance allowance : policy.allowances()) {
      Optional<Ports> ports = Ports.allowedBy(allowance.ports());
      Optional<Target> target = allowance.destination().match(targetOf(gateway));
      if (ports.isPresent() && target.isPresent()) {
        allows.add(new Allow(allowance.protocol(), ports.get(), target.get()));
        target
            .get()
            .match(ADDRESS_SET_NAME)
            .ifPresent(name -> addresses.put(name, resolutions.addressesOf(name)));
      }
    }
    @Nullable InetAddress redirect = policy.filtersDns() ? dnsFilter : null;
    return new EnforcementPlan(
        container.addresses(),
        policy.dns().match(resolversOf(gateway, redirect)),
        redirect,
        allows,
        addresses,
        new TreeMap<>(),
        policy.logDenied());
  }

  /**
   * This plan with {@code granted} as its {@link #grants}, as far as it applies: the grants of
   * names whose sets the plan holds, none when the plan has no DNS filter. An update therefore
   * keeps the grants of the names the new policy still has, and no others.
   */
  public EnforcementPlan withGrants(Map<HostName, Map<InetAddress, Instant>> granted) {
    SortedMap<HostName, Map<InetAddress, Instant>> kept = new TreeMap<>();
    if (dnsFilter != null) {
      granted.forEach(
          (name, until) -> {
            if (addresses.containsKey(name)) {
              kept.put(name, until);
            }
          });
    }
    return new EnforcementPlan(sources, resolvers, dnsFilter, allows, addresses, kept, logDenied);
  }

  /**
   * This plan with {@code additions} in its {@link #grants}: each address granted to its name until
   * the instant it maps to, replacing an end granted before. Costs what the additions do, not what
   * the plan holds: the grants it does not change are shared, not copied.
   *
   * @throws IllegalArgumentException if a name of {@code additions} has no address set in the plan,
   *     or the plan has no DNS filter
   */
  public EnforcementPlan withGrantsAdded(Map<HostName, Map<InetAddress, Instant>> additions) {
    SortedMap<HostName, Map<InetAddress, Instant>> next = new TreeMap<>(grants);
    additions.forEach(
        (name, added) -> {
          HashTrieMap<InetAddress, Instant> granted =
              HashTrieMap.copyOf(next.getOrDefault(name, Map.of()));
          for (Map.Entry<InetAddress, Instant> grant : added.entrySet()) {
            granted = granted.with(grant.getKey(), grant.getValue());
          }
          next.put(name, granted);
        });
    return new EnforcementPlan(sources, resolvers, dnsFilter, allows, addresses, next, logDenied);
  }

  /**
   * This plan without the grants of {@code removals}' addresses to their names (an address not
   * granted is no error). Costs what the removals do, as {@link #withGrantsAdded}.
   */
  public EnforcementPlan withGrantsRemoved(Map<HostName, Set<InetAddress>> removals) {
    SortedMap<HostName, Map<InetAddress, Instant>> next = new TreeMap<>(grants);
    removals.forEach(
        (name, removed) -> {
          Map<InetAddress, Instant> held = next.get(name);
          if (held != null) {
            HashTrieMap<InetAddress, Instant> granted = HashTrieMap.copyOf(held);
            for (InetAddress address : removed) {
              granted = granted.without(address);
            }
            next.put(name, granted);
          }
        });
    return new EnforcementPlan(sources, resolvers, dnsFilter, allows, addresses, next, logDenied);
  }

  /** The resolvers of {@code family}. */
  public List<InetAddress> resolvers(Family family) {
    return resolvers.stream()
        .filter(resolver -> Family.of(resolver) == family)
        .collect(Collectors.toUnmodifiableList());
  }

  /** The allow lines rules of {@code family} carry, in order: see {@link Target#appliesTo}. */
  public List<Allow> allows(Family family) {
    return allows.stream()
        .filter(allow -> allow.appliesTo(family))
        .collect(Collectors.toUnmodifiableList());
  }

  /** The names whose address sets the rules use, sorted: {@link #addresses}' keys. */
  public List<HostName> names() {
    return List.copyOf(addresses.keySet());
  }

  /** The current addresses of {@code name}'s set in {@code family}. */
  public Set<InetAddress> addresses(HostName name, Family family) {
    return addresses.getOrDefault(name, Set.of()).stream()
        .filter(address -> Family.of(address) == family)
        .collect(Collectors.toUnmodifiableSet());
  }

  /** The addresses granted to {@code name}'s set in {@code family}, each with its grant's end. */
  public Map<InetAddress, Instant> granted(HostName name, Family family) {
    Map<InetAddress, Instant> result = new HashMap<>();
    grants
        .getOrDefault(name, Map.of())
        .forEach(
            (address, until) -> {
              if (Family.of(address) == family) {
                result.put(address, until);
              }
            });
    return Collections.unmodifiableMap(result);
  }

  /**
   * Whether a connection the container opens as {@code flow} is let through: what {@link
   * EgressPolicy#permits} decides for the policy, endpoint and resolutions the plan was made from,
   * with every grant the plan holds counted in its name's set (the plan is a snapshot: whoever
   * makes it leaves out grants that ended).
   */
  public boolean permits(Flow flow) {
    InetAddress destination = flow.destination();
    if (flow.port() == PortRange.DNS_PORT) {
      return resolvers.contains(destination);
    }
    for (Allow allow : allows) {
      if (allow.protocol() == flow.protocol()
          && allow.ports().contains(flow.port())
          && allow.target().match(holding(destination))) {
        return true;
      }
    }
    return false;
  }

  private Target.Cases<Boolean> holding(InetAddress destination) {
    return new Target.Cases<>() {
      @Override
      public Boolean network(IpNetwork network) {
        return network.contains(destination);
      }

      @Override
      public Boolean addressSet(HostName name) {
        return addresses.getOrDefault(name, Set.of()).contains(destination)
            || grants.getOrDefault(name, Map.of()).containsKey(destination);
      }

      @Override
      public Boolean anyAddress() {
        return true;
      }
    };
  }

  private static Destination.Cases<Optional<Target>> targetOf(@Nullable InetAddress gateway) {
    return new Destination.Cases<>() {
      @Override
      public Optional<Target> host(HostName name) {
        return Optional.of(new Target.AddressSet(name));
      }

      @Override
      public Optional<Target> network(IpNetwork network) {
        return Optional.of(new Target.Network(network));
      }

      @Override
      public Optional<Target> gateway() {
        return Optional.ofNullable(gateway).map(g -> new Target.Network(IpNetwork.host(g)));
      }

      @Override
      public Optional<Target> unsafeAnyAddress() {
        return Optional.of(new Target.AnyAddress());
      }
    };
  }

  private static DnsRule.Cases<List<InetAddress>> resolversOf(
      @Nullable InetAddress gateway, @Nullable InetAddress dnsFilter) {
    return new DnsRule.Cases<>() {
      @Override
      public List<InetAddress> viaGateway() {
        return gateway == null ? List.of() : List.of(gateway);
      }

      @Override
      public List<InetAddress> servers(List<InetAddress> addresses) {
        return addresses;
      }

      @Override
      public List<InetAddress> none() {
        return List.of();
      }

      @Override
      public List<InetAddress> filter() {
        return dnsFilter == null ? List.of() : List.of(dnsFilter);
      }
    };
  }

  @Override
  public String toString() {
    return "plan for "
        + sources.stream().map(IpAddresses::format).collect(Collectors.joining(","))
        + ": dns "
        + resolvers.stream().map(IpAddresses::format).collect(Collectors.joining(" "))
        + (dnsFilter == null ? "" : " (filter, port 53 redirected)")
        + ", allow "
        + allows
        + ", names "
        + addresses
        + (grants.isEmpty() ? "" : ", granted " + grants)
        + (logDenied ? ", denials logged" : "");
  }
}
