package dev.egress.testkit;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Allowance;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
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
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;

/**
 * jqwik arbitraries for the policy model, for property tests of policies, parsers, renderers and
 * enforcers:
 *
 * <pre>{@code
 * @Provide
 * Arbitrary<EgressPolicy> policies() {
 *   return EgressArbitraries.policies();
 * }
 *
 * @Property(tries = 200)
 * void rendererNeverWidens(@ForAll("policies") EgressPolicy policy,
 *                          @ForAll("flows") Flow flow) { ... }
 * }</pre>
 *
 * <p>Values are drawn mostly from small pools — a handful of host names, addresses in {@code
 * 10.0.0.0/22}, {@code 192.0.2.0/24}, {@code fd00::/16} and {@code 2001:db8::/32}, and ports around
 * 53, 443 and 5432 — so that generated flows, resolutions and policies actually meet, and edge
 * cases (port 53 inside a range, adjacent ranges, /31 and /127 networks, IPv4-compatible IPv6
 * addresses) come up often; now and then a value is drawn from the whole space instead. Every value
 * is valid: it is built through the model's own constructors.
 *
 * <p>Stateless; each method returns a new arbitrary.
 */
public final class EgressArbitraries {
  private static final List<String> LABELS =
      List.of("api", "cdn", "www", "a", "b", "mail", "x-1", "bücher");
  private static final List<String> DOMAINS =
      List.of("example.test", "egress.test", "example.com", "anthropic.com");
  private static final List<Integer> INTERESTING_PORTS =
      List.of(1, 22, 52, 53, 54, 80, 442, 443, 444, 1000, 3001, 3478, 5432, 5433, 8443, 65535);

  private EgressArbitraries() {}

  /** Host names from a small pool (some internationalised), now and then any valid name. */
  public static Arbitrary<HostName> hostNames() {
    Arbitrary<HostName> pooled =
        Combinators.combine(Arbitraries.of(LABELS).list().ofMaxSize(2), Arbitraries.of(DOMAINS))
            .as(
                (labels, domain) -> {
                  List<String> parts = new ArrayList<>(labels);
                  parts.add(domain);
                  return HostName.of(String.join(".", parts));
                });
    return Arbitraries.frequencyOf(weighted(8, pooled), weighted(2, anyHostNames()));
  }

  /**
   * Any valid host name: 1-5 labels of letters, digits and inner hyphens (1-63 characters), a last
   * label that is not a number, at most 253 characters.
   */
  public static Arbitrary<HostName> anyHostNames() {
    Arbitrary<String> label =
        Combinators.combine(
                Arbitraries.strings()
                    .withChars(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" + "0123456789")
                    .ofMinLength(1)
                    .ofMaxLength(1),
                Arbitraries.strings()
                    .withChars("abcdefghijklmnopqrstuvwxyz0123456789-")
                    .ofMaxLength(61),
                Arbitraries.strings()
                    .withChars("abcdefghijklmnopqrstuvwxyz0123456789")
                    .ofMaxLength(1))
            .as((first, middle, last) -> last.isEmpty() ? first : first + middle + last);
    Arbitrary<String> topLabel =
        Arbitraries.strings()
            .withChars("abcdefghijklmnopqrstuvwxyz")
            .ofMinLength(2)
            .ofMaxLength(12);
    return Combinators.combine(label.list().ofMaxSize(4), topLabel)
        .as(
            (labels, top) -> {
              List<String> parts = new ArrayList<>(labels);
              parts.add(top);
              return String.join(".", parts);
            })
        .filter(name -> name.length() <= 253)
        .map(HostName::of);
  }

  /** Wildcard names such as {@code *.example.test}. */
  public static Arbitrary<HostName> wildcardHostNames() {
    return hostNames()
        .map(name -> HostName.of("*." + name.ascii()))
        .filter(name -> name.ascii().length() <= 253);
  }

  /** IPv4 addresses, mostly from {@code 10.0.0.0/22} and {@code 192.0.2.0/24}. */
  public static Arbitrary<InetAddress> ipv4Addresses() {
    Arbitrary<InetAddress> pooled =
        Combinators.combine(
                Arbitraries.of(10, 192),
                Arbitraries.integers().between(0, 3),
                Arbitraries.of(0, 1, 2, 3, 254, 255))
            .as(
                (first, third, fourth) ->
                    IpAddresses.fromBytes(
                        first == 10
                            ? new byte[] {10, 0, (byte) (int) third, (byte) (int) fourth}
                            : new byte[] {(byte) 192, 0, 2, (byte) (int) fourth}));
    Arbitrary<InetAddress> any =
        Arbitraries.bytes().array(byte[].class).ofSize(4).map(IpAddresses::fromBytes);
    return Arbitraries.frequencyOf(weighted(8, pooled), weighted(2, any));
  }

  /**
   * IPv6 addresses, mostly from {@code fd00::/16} and {@code 2001:db8::/32}, including
   * IPv4-compatible ones ({@code ::10.0.0.1}); never IPv4-mapped ones, which the JDK turns into
   * IPv4 addresses.
   */
  public static Arbitrary<InetAddress> ipv6Addresses() {
    Arbitrary<InetAddress> pooled =
        Combinators.combine(
                Arbitraries.of(0xfd00, 0x2001, 0),
                Arbitraries.integers().between(0, 3),
                Arbitraries.of(0, 1, 2, 0xffff))
            .as(
                (prefix, group, last) -> {
                  byte[] bytes = new byte[16];
                  if (prefix == 0) {
                    bytes[12] = 10; // IPv4-compatible ::10.0.x.y
                    bytes[14] = (byte) (int) group;
                    bytes[15] = (byte) (int) last;
                  } else {
                    bytes[0] = (byte) (prefix >> 8);
                    bytes[1] = (byte) (int) prefix;
                    bytes[2] = prefix == 0x2001 ? (byte) 0x0d : 0;
                    bytes[3] = prefix == 0x2001 ? (byte) 0xb8 : 0;
                    bytes[13] = (byte) (int) group;
                    bytes[14] = (byte) (last >> 8);
                    bytes[15] = (byte) (int) last;
                  }
                  return IpAddresses.fromBytes(bytes);
                });
    Arbitrary<InetAddress> any =
        Arbitraries.bytes()
            .array(byte[].class)
            .ofSize(16)
            .filter(bytes -> !isIpv4Mapped(bytes))
            .map(IpAddresses::fromBytes);
    return Arbitraries.frequencyOf(weighted(8, pooled), weighted(2, any));
  }

  /** IPv4 and IPv6 addresses, about two in three IPv4. */
  public static Arbitrary<InetAddress> addresses() {
    return Arbitraries.frequencyOf(weighted(2, ipv4Addresses()), weighted(1, ipv6Addresses()));
  }

  /** IPv4 networks /1 to /32 (often /8, /16, /24, /30, /31, /32), host bits cleared. */
  public static Arbitrary<IpNetwork> ipv4Networks() {
    return networksOf(ipv4Addresses(), 32, List.of(8, 16, 22, 24, 30, 31, 32));
  }

  /** IPv6 networks /1 to /128 (often /16, /32, /64, /112, /127, /128), host bits cleared. */
  public static Arbitrary<IpNetwork> ipv6Networks() {
    return networksOf(ipv6Addresses(), 128, List.of(16, 32, 64, 112, 127, 128));
  }

  /** IPv4 and IPv6 networks. */
  public static Arbitrary<IpNetwork> networks() {
    return Arbitraries.frequencyOf(weighted(2, ipv4Networks()), weighted(1, ipv6Networks()));
  }

  private static Arbitrary<IpNetwork> networksOf(
      Arbitrary<InetAddress> addresses, int bits, List<Integer> commonPrefixes) {
    Arbitrary<Integer> prefix =
        Arbitraries.frequencyOf(
            weighted(3, Arbitraries.of(commonPrefixes)),
            weighted(1, Arbitraries.integers().between(1, bits)));
    return Combinators.combine(addresses, prefix).as(IpNetwork::containing);
  }

  /** Ports, mostly around 53, 443, 3001, 3478, 5432, 8443 and the ends of the range. */
  public static Arbitrary<Integer> ports() {
    return Arbitraries.frequencyOf(
        weighted(3, Arbitraries.of(INTERESTING_PORTS)),
        weighted(1, Arbitraries.integers().between(1, 65535)));
  }

  /** Port ranges, single ports about half the time. */
  public static Arbitrary<PortRange> portRanges() {
    Arbitrary<PortRange> single = ports().map(PortRange::of);
    Arbitrary<PortRange> range =
        Combinators.combine(ports(), ports())
            .as((a, b) -> new PortRange(Math.min(a, b), Math.max(a, b)));
    return Arbitraries.oneOf(single, range);
  }

  /** Destinations: networks, host names, the gateway; rarely {@code unsafe-any-address}. */
  public static Arbitrary<Destination> destinations() {
    return Arbitraries.<Destination>frequencyOf(
        weighted(4, networks().map(Destination.Network::new)),
        weighted(4, hostNames().map(Destination.Host::new)),
        weighted(1, Arbitraries.just(new Destination.Gateway())),
        weighted(1, wildcardHostNames().map(Destination.Host::new)),
        weighted(1, Arbitraries.just(new Destination.UnsafeAnyAddress())));
  }

  /** Allowances; never one whose ports are exactly 53, which policies refuse. */
  public static Arbitrary<Allowance> allowances() {
    return Combinators.combine(destinations(), Arbitraries.of(Protocol.class), portRanges())
        .as(Allowance::new)
        .filter(a -> !a.ports().equals(PortRange.of(PortRange.DNS_PORT)));
  }

  /** DNS rules: via the gateway, none, the DNS filter, or one to three resolver addresses. */
  public static Arbitrary<DnsRule> dnsRules() {
    return Arbitraries.oneOf(
        Arbitraries.just(DnsRule.gateway()),
        Arbitraries.just(DnsRule.none()),
        Arbitraries.just(DnsRule.filter()),
        addresses().list().ofMinSize(1).ofMaxSize(3).map(DnsRule.Servers::new));
  }

  /**
   * Lists of up to {@code maxSize} allowances that make a policy: never networks that add up to a
   * whole address family, which policies refuse.
   */
  public static Arbitrary<List<Allowance>> allowanceLists(int maxSize) {
    return allowances().list().ofMaxSize(maxSize).filter(EgressArbitraries::makeAPolicy);
  }

  private static boolean makeAPolicy(List<Allowance> allowances) {
    try {
      new EgressPolicy(allowances, DnsRule.none(), false);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Policies of zero to eight allowances (before normalisation), any DNS rule and logging. */
  public static Arbitrary<EgressPolicy> policies() {
    return Combinators.combine(allowanceLists(8), dnsRules(), Arbitraries.of(true, false))
        .as(EgressPolicy::new);
  }

  /**
   * Containers: an id, an IPv4 address from {@code 10.0.0.0/22} and often an IPv6 one, and usually
   * a gateway (sometimes unknown). Addresses are valid container addresses (not loopback, multicast
   * or unspecified).
   */
  public static Arbitrary<ContainerEndpoint> containerEndpoints() {
    Arbitrary<InetAddress> v4 = ipv4Addresses().filter(EgressArbitraries::usableByContainer);
    Arbitrary<InetAddress> v6 = ipv6Addresses().filter(EgressArbitraries::usableByContainer);
    Arbitrary<String> ids =
        Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(40);
    return Combinators.combine(ids, v4, v6.injectNull(0.4), ipv4Addresses().injectNull(0.2))
        .as(
            (id, ipv4, ipv6, gateway) -> {
              List<InetAddress> addresses = new ArrayList<>();
              addresses.add(ipv4);
              if (ipv6 != null) {
                addresses.add(ipv6);
              }
              return new ContainerEndpoint(ContainerId.of(id), addresses, gateway);
            });
  }

  private static boolean usableByContainer(InetAddress address) {
    return !address.isAnyLocalAddress()
        && !address.isLoopbackAddress()
        && !address.isMulticastAddress();
  }

  /** Flows of TCP or UDP to the pooled addresses and ports. */
  public static Arbitrary<Flow> flows() {
    return Combinators.combine(Arbitraries.of(Protocol.class), addresses(), ports()).as(Flow::new);
  }

  /**
   * Resolutions of the pooled host names ({@link #hostNames()}) to zero to three pooled addresses
   * each; some names are absent.
   */
  public static Arbitrary<Resolutions> resolutions() {
    return Arbitraries.maps(hostNames(), addresses().set().ofMaxSize(3))
        .ofMaxSize(6)
        .map(EgressArbitraries::resolutionsOf);
  }

  private static Resolutions resolutionsOf(Map<HostName, Set<InetAddress>> map) {
    return new Resolutions(new HashMap<>(map));
  }

  private static boolean isIpv4Mapped(byte[] bytes) {
    for (int i = 0; i < 10; i++) {
      if (bytes[i] != 0) {
        return false;
      }
    }
    return bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff;
  }

  private static <T> Tuple2<Integer, Arbitrary<? extends T>> weighted(
      int weight, Arbitrary<? extends T> arbitrary) {
    return Tuple.of(weight, arbitrary);
  }
}
