package dev.egress.pf.render;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Allowance;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import org.jspecify.annotations.Nullable;

/**
 * Random hosts, several containers side by side on one managed network, and their policies, drawn
 * from small pools so that destinations, networks, names and ports collide often.
 */
final class Scenarios {
  private Scenarios() {}

  static final IpNetwork SUBNET_V4 = IpNetwork.parse("192.168.64.0/24");
  static final IpNetwork SUBNET_V6 = IpNetwork.parse("fd00:64::/64");
  static final String BRIDGE = "bridge100";
  static final InetAddress GATEWAY_V4 = IpAddresses.parse("192.168.64.1");
  static final InetAddress GATEWAY_V6 = IpAddresses.parse("fd00:64::1");

  /** Addresses names resolve to and packets go to: both families, inside and outside networks. */
  static final List<InetAddress> ADDRESSES =
      parse(
          "10.0.0.1",
          "10.0.0.2",
          "10.0.1.5",
          "10.1.0.1",
          "93.184.216.34",
          "160.79.104.10",
          "160.79.105.255",
          "9.9.9.9",
          "8.8.8.8",
          "192.168.64.1",
          "192.168.64.2",
          "fd00:64::1",
          "2607:6bc0::10",
          "2001:db8::1",
          "2001:db8:1::7",
          "2001:4860:4860::8888",
          "2001:db9::1");

  static final List<IpNetwork> NETWORKS =
      List.of(
              "10.0.0.0/24",
              "10.0.0.0/16",
              "10.0.0.0/8",
              "160.79.104.0/23",
              "93.184.216.34",
              "9.9.9.9",
              "192.168.64.0/24",
              "192.168.64.1",
              "2001:db8::/32",
              "2001:db8:1::/48",
              "2607:6bc0::10")
          .stream()
          .map(IpNetwork::parse)
          .toList();

  static final List<HostName> NAMES =
      List.of("a.example", "b.example", "c.example", "api.anthropic.com", "*.example").stream()
          .map(HostName::of)
          .toList();

  /** Port ranges whose edges sit next to each other and next to 53. */
  static final List<PortRange> RANGES =
      List.of(
          PortRange.of(22),
          PortRange.of(80),
          PortRange.of(443),
          PortRange.of(3001),
          PortRange.of(52),
          PortRange.of(54),
          PortRange.of(1),
          PortRange.of(65535),
          new PortRange(50, 60),
          new PortRange(1, 65535),
          new PortRange(440, 450),
          new PortRange(5432, 5433),
          new PortRange(1, 52),
          new PortRange(54, 100),
          new PortRange(443, 444));

  /** One container: its endpoint, policy and resolutions, and whether the guard exists. */
  record Scenario(List<Child> containers, @Nullable ManagedNetwork guard) {
    ParentAnchor parent() {
      return guard == null
          ? ParentAnchor.defaults()
          : ParentAnchor.defaults().guarding(guard, true);
    }

    @Override
    public String toString() {
      StringBuilder out = new StringBuilder("guard " + guard + "\n");
      for (Child rules : containers) {
        out.append(rules.container())
            .append(" -> ")
            .append(rules.name())
            .append('\n')
            .append(rules.policy())
            .append(rules.resolutions())
            .append('\n');
      }
      return out.toString();
    }
  }

  static Arbitrary<Scenario> scenarios() {
    Arbitrary<@Nullable ManagedNetwork> guard =
        Arbitraries.of(
                ManagedNetwork.of(SUBNET_V4, SUBNET_V6),
                ManagedNetwork.of(SUBNET_V4, SUBNET_V6).onBridge(BRIDGE),
                ManagedNetwork.of(SUBNET_V4))
            .injectNull(0.3);
    // The enforcer's DNS filter, shared by its containers: none, or one of either family.
    Arbitrary<@Nullable InetAddress> filter =
        Arbitraries.of(GATEWAY_V4, GATEWAY_V6, IpAddresses.parse("9.9.9.9")).injectNull(0.25);
    Arbitrary<List<Child>> containers =
        Arbitraries.integers()
            .between(1, 3)
            .flatMap(
                n ->
                    Combinators.combine(
                            endpointShapes().list().ofSize(n),
                            policies().list().ofSize(n),
                            resolutions().list().ofSize(n),
                            filter)
                        .as(
                            (shapes, policies, resolutions, dnsFilter) -> {
                              List<Child> result = new ArrayList<>();
                              for (int i = 0; i < n; i++) {
                                ContainerEndpoint endpoint = shapes.get(i).endpoint(i);
                                result.add(
                                    new Child(
                                        ParentAnchor.defaults().childName(endpoint.id()),
                                        endpoint,
                                        policies.get(i),
                                        resolutions.get(i),
                                        dnsFilter));
                              }
                              return result;
                            }));
    return Combinators.combine(containers, guard).as(Scenario::new);
  }

  /** Which families and which gateway a container has; its addresses follow from its index. */
  record EndpointShape(boolean v4, boolean v6, boolean linkLocal, int gateway) {
    ContainerEndpoint endpoint(int index) {
      List<InetAddress> addresses = new ArrayList<>();
      if (v4 || !v6) {
        addresses.add(IpAddresses.parse("192.168.64." + (10 + index)));
      }
      if (v6) {
        addresses.add(IpAddresses.parse("fd00:64::" + (10 + index)));
        if (linkLocal) {
          addresses.add(IpAddresses.parse("fe80::" + (10 + index)));
        }
      }
      InetAddress gw =
          switch (gateway) {
            case 0 -> GATEWAY_V4;
            case 1 -> GATEWAY_V6;
            default -> null;
          };
      return new ContainerEndpoint(
          ContainerId.of("container-" + index + (index % 2 == 0 ? "" : "/odd:id")), addresses, gw);
    }
  }

  static Arbitrary<EndpointShape> endpointShapes() {
    return Combinators.combine(
            Arbitraries.of(true, false),
            Arbitraries.of(true, false),
            Arbitraries.of(true, false),
            Arbitraries.integers().between(0, 2))
        .as(EndpointShape::new);
  }

  static Arbitrary<Destination> destinations() {
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(2, Arbitraries.just(Destination.gateway())),
        net.jqwik.api.Tuple.of(4, Arbitraries.of(NETWORKS).map(Destination.Network::new)),
        net.jqwik.api.Tuple.of(5, Arbitraries.of(NAMES).map(Destination.Host::new)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(new Destination.UnsafeAnyAddress())));
  }

  /** Nested ranges come up often, so that wider rules cover narrower ones. */
  static final List<PortRange> NESTED_RANGES =
      List.of(
          PortRange.of(443),
          new PortRange(440, 450),
          new PortRange(1, 65535),
          new PortRange(443, 444));

  static Arbitrary<Allowance> allowances() {
    Arbitrary<PortRange> ranges =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(1, Arbitraries.of(RANGES)),
            net.jqwik.api.Tuple.of(1, Arbitraries.of(NESTED_RANGES)));
    return Combinators.combine(destinations(), Arbitraries.of(Protocol.class), ranges)
        .as(Allowance::new);
  }

  static Arbitrary<DnsRule> dnsRules() {
    return Arbitraries.oneOf(
        Arbitraries.just(DnsRule.gateway()),
        Arbitraries.just(DnsRule.none()),
        Arbitraries.just(DnsRule.filter()),
        Arbitraries.of(ADDRESSES)
            .set()
            .ofMinSize(1)
            .ofMaxSize(3)
            .map(set -> new DnsRule.Servers(new ArrayList<>(set))));
  }

  static Arbitrary<EgressPolicy> policies() {
    return Combinators.combine(
            allowances().list().ofMaxSize(7), dnsRules(), Arbitraries.of(true, false))
        .as(EgressPolicy::new);
  }

  static Arbitrary<Resolutions> resolutions() {
    return Arbitraries.of(ADDRESSES)
        .set()
        .ofMaxSize(3)
        .list()
        .ofSize(NAMES.size())
        .map(
            sets -> {
              Map<HostName, Set<InetAddress>> map = new HashMap<>();
              for (int i = 0; i < NAMES.size(); i++) {
                if (i != 0 || !sets.get(i).isEmpty()) {
                  map.put(NAMES.get(i), sets.get(i));
                }
              }
              return new Resolutions(map);
            });
  }

  private static List<InetAddress> parse(String... addresses) {
    return java.util.Arrays.stream(addresses).map(IpAddresses::parse).toList();
  }
}
