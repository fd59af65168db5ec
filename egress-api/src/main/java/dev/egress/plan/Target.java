package dev.egress.plan;

import dev.egress.policy.HostName;
import dev.egress.policy.IpNetwork;
import java.util.Objects;

/**
 * What an allow line reaches, with the gateway already substituted: a network (a literal network,
 * or the known gateway as a one-address network), the address set of a host name (both families;
 * refreshed without touching rules), or any address. Code that acts on the kind calls {@link
 * #match}, so that a new kind fails to compile wherever it is not handled.
 */
public sealed interface Target permits Target.Network, Target.AddressSet, Target.AnyAddress {

  /** The result of the method of {@code cases} for this target's kind. */
  <R> R match(Cases<R> cases);

  /**
   * One method per kind of target, for {@link #match}.
   *
   * @param <R> what each method returns
   */
  interface Cases<R> {
    R network(IpNetwork network);

    R addressSet(HostName name);

    R anyAddress();
  }

  /**
   * Whether rules of {@code family} may reach this target. A name's address set may hold either
   * family at any refresh, so it applies to both whatever it holds now: rules never depend on what
   * names resolve to.
   */
  boolean appliesTo(Family family);

  /**
   * Whether this target holds every address {@code other} may ever hold, whatever names resolve to.
   */
  boolean covers(Target other);

  /** Every address of {@code network}. */
  record Network(IpNetwork network) implements Target {
    public Network {
      Objects.requireNonNull(network, "network");
    }

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.network(network);
    }

    @Override
    public boolean appliesTo(Family family) {
      return Family.of(network) == family;
    }

    @Override
    public boolean covers(Target other) {
      return other.match(
          new Cases<Boolean>() {
            @Override
            public Boolean network(IpNetwork narrow) {
              return narrow.isIpv6() == network.isIpv6()
                  && network.prefixLength() <= narrow.prefixLength()
                  && network.contains(narrow.address());
            }

            @Override
            public Boolean addressSet(HostName name) {
              return false;
            }

            @Override
            public Boolean anyAddress() {
              return false;
            }
          });
    }
  }

  /** The addresses {@code name} resolves to, kept in a set that refreshes replace. */
  record AddressSet(HostName name) implements Target {
    public AddressSet {
      Objects.requireNonNull(name, "name");
    }

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.addressSet(name);
    }

    @Override
    public boolean appliesTo(Family family) {
      return true;
    }

    @Override
    public boolean covers(Target other) {
      return equals(other);
    }
  }

  /** Every IPv4 and IPv6 address: the policy's {@code unsafe-any-address}. */
  record AnyAddress() implements Target {
    @Override
    public <R> R match(Cases<R> cases) {
      return cases.anyAddress();
    }

    @Override
    public boolean appliesTo(Family family) {
      return true;
    }

    @Override
    public boolean covers(Target other) {
      return true;
    }
  }
}
