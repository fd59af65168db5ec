package dev.egress.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.Allowance;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.jspecify.annotations.Nullable;

/**
 * {@link EgressPolicy#permits}, the one decision function, against a specification written here
 * independently from the allowances, and the invariants every enforcer relies on. Generators come
 * from {@link EgressArbitraries}, which is why these live in the testkit.
 */
class PermitsProperties {

  /** A raw allowance list, a DNS rule, a flow, a gateway, and resolutions that often hit. */
  record Case(
      List<Allowance> allowances,
      DnsRule dns,
      Flow flow,
      @Nullable InetAddress gateway,
      Resolutions resolutions) {
    EgressPolicy policy() {
      return new EgressPolicy(allowances, dns, false);
    }
  }

  @Provide
  Arbitrary<Case> cases() {
    Arbitrary<List<Allowance>> allowances = EgressArbitraries.allowanceLists(8);
    Arbitrary<Flow> flows = EgressArbitraries.flows();
    return Combinators.combine(
            allowances,
            EgressArbitraries.dnsRules(),
            flows,
            EgressArbitraries.ipv4Addresses().injectNull(0.2),
            EgressArbitraries.resolutions(),
            Arbitraries.integers().between(0, 3))
        .as(
            (list, dns, flow, gateway, resolutions, aim) -> {
              // Aim some cases at the flow: its destination becomes the gateway or a name's
              // address.
              InetAddress gw = aim == 1 ? flow.destination() : gateway;
              Resolutions res = resolutions;
              if (aim >= 2) {
                for (Allowance allowance : list) {
                  if (allowance.destination() instanceof Destination.Host host) {
                    res = res.with(host.name(), Set.of(flow.destination()));
                    if (aim == 2) {
                      break;
                    }
                  }
                }
              }
              return new Case(list, dns, flow, gw, res);
            });
  }

  // ---- the specification, written without EgressPolicy's code ----

  private static boolean sameAddress(InetAddress a, InetAddress b) {
    return Arrays.equals(a.getAddress(), b.getAddress());
  }

  private static boolean inNetwork(IpNetwork network, InetAddress address) {
    byte[] net = network.address().getAddress();
    byte[] candidate = address.getAddress();
    if (net.length != candidate.length) {
      return false;
    }
    int shift = net.length * 8 - network.prefixLength();
    return new BigInteger(1, net)
        .shiftRight(shift)
        .equals(new BigInteger(1, candidate).shiftRight(shift));
  }

  private static boolean specified(Case c) {
    InetAddress target = c.flow().destination();
    if (c.flow().port() == 53) {
      if (c.dns() instanceof DnsRule.Servers servers) {
        return servers.addresses().stream().anyMatch(s -> sameAddress(s, target));
      }
      return c.dns() instanceof DnsRule.ViaGateway
          && c.gateway() != null
          && sameAddress(c.gateway(), target);
    }
    for (Allowance a : c.allowances()) {
      if (a.protocol() != c.flow().protocol()
          || c.flow().port() < a.ports().first()
          || c.flow().port() > a.ports().last()) {
        continue;
      }
      Destination d = a.destination();
      boolean holds;
      if (d instanceof Destination.Network n) {
        holds = inNetwork(n.network(), target);
      } else if (d instanceof Destination.Host h) {
        holds =
            c.resolutions().addresses().getOrDefault(h.name(), Set.of()).stream()
                .anyMatch(x -> sameAddress(x, target));
      } else if (d instanceof Destination.Gateway) {
        holds = c.gateway() != null && sameAddress(c.gateway(), target);
      } else {
        holds = d instanceof Destination.UnsafeAnyAddress;
      }
      if (holds) {
        return true;
      }
    }
    return false;
  }

  // ---- properties ----

  @Property(tries = 300)
  void permits_isExactlyWhatTheAllowancesName(@ForAll("cases") Case c) {
    assertEquals(
        specified(c),
        c.policy().permits(c.flow(), c.gateway(), c.resolutions()),
        () -> c.policy() + "flow " + c.flow() + " gateway " + c.gateway() + " " + c.resolutions());
  }

  @Property(tries = 300)
  void port53_isAllowedOnlyToTheDnsRulesResolvers(@ForAll("cases") Case c) {
    Flow dns = new Flow(c.flow().protocol(), c.flow().destination(), 53);
    boolean resolver =
        c.dns() instanceof DnsRule.Servers servers
            ? servers.addresses().contains(dns.destination())
            : c.dns() instanceof DnsRule.ViaGateway && dns.destination().equals(c.gateway());

    assertEquals(resolver, c.policy().permits(dns, c.gateway(), c.resolutions()));
  }

  @Property(tries = 300)
  void anUnknownGateway_allowsNothingThroughGatewayRules(@ForAll("cases") Case c) {
    List<Allowance> withoutGateway =
        c.allowances().stream()
            .filter(a -> !(a.destination() instanceof Destination.Gateway))
            .collect(Collectors.toList());
    DnsRule dns = c.dns() instanceof DnsRule.ViaGateway ? DnsRule.none() : c.dns();

    assertEquals(
        new EgressPolicy(withoutGateway, dns, false).permits(c.flow(), null, c.resolutions()),
        c.policy().permits(c.flow(), null, c.resolutions()));
  }

  @Provide
  Arbitrary<InetAddress> ipv6LookingLikeIpv4() {
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d, as an Inet6Address the JDK
    // makes only when asked explicitly) forms of pooled IPv4 addresses.
    return Combinators.combine(EgressArbitraries.ipv4Addresses(), Arbitraries.of(true, false))
        .as(
            (v4, mapped) -> {
              byte[] bytes = new byte[16];
              System.arraycopy(v4.getAddress(), 0, bytes, 12, 4);
              if (mapped) {
                bytes[10] = (byte) 0xff;
                bytes[11] = (byte) 0xff;
              }
              try {
                return Inet6Address.getByAddress(null, bytes, -1);
              } catch (java.net.UnknownHostException e) {
                throw new AssertionError(e);
              }
            });
  }

  // Lists whose networks add up to a whole family make no policy: EgressPolicy refuses them.
  @Provide
  Arbitrary<List<IpNetwork>> ipv4Networks() {
    return EgressArbitraries.ipv4Networks()
        .list()
        .ofMinSize(1)
        .ofMaxSize(5)
        .filter(PermitsProperties::makeAPolicy);
  }

  @Provide
  Arbitrary<List<IpNetwork>> ipv6Networks() {
    return EgressArbitraries.ipv6Networks()
        .list()
        .ofMinSize(1)
        .ofMaxSize(5)
        .filter(PermitsProperties::makeAPolicy);
  }

  private static boolean makeAPolicy(List<IpNetwork> networks) {
    try {
      allowingNetworks(networks);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static EgressPolicy allowingNetworks(List<IpNetwork> networks) {
    return new EgressPolicy(
        networks.stream()
            .map(n -> new Allowance(new Destination.Network(n), Protocol.TCP, PortRange.all()))
            .collect(Collectors.toList()),
        DnsRule.none(),
        false);
  }

  @Property
  void ipv4Networks_neverMatchIpv6Addresses_evenThoseSpellingAnIpv4Address(
      @ForAll("ipv4Networks") List<IpNetwork> networks,
      @ForAll("ipv6LookingLikeIpv4") InetAddress lookalike) {
    EgressPolicy policy = allowingNetworks(networks);
    InetAddress embedded = ipv4Of(lookalike);

    assertFalse(
        policy.permits(Flow.tcp(lookalike, 443), null, Resolutions.none()),
        policy + " allowed " + lookalike);
    // The lookalike is refused even where the IPv4 address it embeds would be allowed.
    networks.stream()
        .filter(n -> n.contains(embedded))
        .findAny()
        .ifPresent(
            n ->
                assertEquals(
                    true, policy.permits(Flow.tcp(embedded, 443), null, Resolutions.none())));
  }

  @Property
  void ipv6Networks_neverMatchIpv4Addresses(
      @ForAll("ipv6Networks") List<IpNetwork> networks, @ForAll("ipv4") InetAddress address) {
    assertFalse(
        allowingNetworks(networks).permits(Flow.tcp(address, 443), null, Resolutions.none()));
  }

  @Provide
  Arbitrary<InetAddress> ipv4() {
    return EgressArbitraries.ipv4Addresses();
  }

  private static InetAddress ipv4Of(InetAddress v6) {
    byte[] bytes = Arrays.copyOfRange(v6.getAddress(), 12, 16);
    return dev.egress.policy.IpAddresses.fromBytes(bytes);
  }

  @Property(tries = 300)
  void namesThatResolveToNothing_allowNothing(@ForAll("cases") Case c) {
    List<Allowance> hostsOnly =
        c.allowances().stream()
            .filter(a -> a.destination() instanceof Destination.Host)
            .collect(Collectors.toList());
    EgressPolicy policy = new EgressPolicy(hostsOnly, DnsRule.none(), false);
    Resolutions empty = Resolutions.none();
    for (HostName name : policy.hostNames()) {
      empty = empty.with(name, Set.of());
    }

    assertFalse(policy.permits(c.flow(), c.gateway(), empty));
    assertFalse(policy.permits(c.flow(), c.gateway(), Resolutions.none()));
  }

  @Provide
  Arbitrary<ContainerEndpoint> containers() {
    return EgressArbitraries.containerEndpoints();
  }

  @Provide
  Arbitrary<EgressPolicy> policies() {
    return EgressArbitraries.policies();
  }

  @Provide
  Arbitrary<Flow> flows() {
    return EgressArbitraries.flows();
  }

  @Provide
  Arbitrary<Map<HostName, Set<InetAddress>>> answers() {
    return EgressArbitraries.resolutions().map(Resolutions::addresses);
  }

  /** The fake decides as the policy does, from every address of the container, and no further. */
  @Property(tries = 300)
  void inMemoryEnforcer_decidesAsPermits(
      @ForAll("containers") ContainerEndpoint container,
      @ForAll("policies") EgressPolicy policy,
      @ForAll("flows") Flow flow,
      @ForAll("answers") Map<HostName, Set<InetAddress>> answers)
      throws Exception {
    FakeNameResolver resolver = new FakeNameResolver();
    answers.forEach((name, addresses) -> resolver.set(name, addresses.toArray(InetAddress[]::new)));
    InMemoryEgressEnforcer enforcer = InMemoryEgressEnforcer.builder().resolver(resolver).build();
    boolean attached;
    try {
      Attachment attachment = enforcer.attach(container, policy);
      attached = attachment.isActive();
    } catch (UnsupportedPolicyException | IllegalArgumentException refused) {
      attached = false;
    }
    boolean expected =
        attached && policy.permits(flow, container.gateway(), resolver.current(policy.hostNames()));

    for (InetAddress source : container.addresses()) {
      assertEquals(expected, enforcer.wouldAllow(source, flow), policy + " " + flow);
    }
    assertFalse(
        enforcer.wouldAllow(dev.egress.policy.IpAddresses.parse("10.255.255.254"), flow)
            && !container
                .addresses()
                .contains(dev.egress.policy.IpAddresses.parse("10.255.255.254")));
  }
}
