package dev.egress.policy;

import java.net.InetAddress;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Which DNS resolvers a container may query (UDP and TCP port 53). DNS to any other address is
 * denied, whatever the policy's allow rules say: an open port 53 is a tunnel.
 *
 * <p>{@code dns filter} ({@link Filter}) makes the host's filtering resolver the container's only
 * resolver: it answers only names the policy's allow lines name, and puts the answer's addresses
 * into the container's sets before the answer leaves. It is the one rule under which wildcard names
 * ({@code *.example.com}) are honoured.
 *
 * <p>Code that acts on the kind of rule calls {@link #match}, so that a new kind fails to compile
 * wherever it is not handled.
 */
public sealed interface DnsRule
    permits DnsRule.ViaGateway, DnsRule.Servers, DnsRule.NoDns, DnsRule.Filter {

  /** The result of the method of {@code cases} for this rule's kind. */
  <R> R match(Cases<R> cases);

  /**
   * One method per kind of DNS rule, for {@link #match}.
   *
   * @param <R> what each method returns
   */
  interface Cases<R> {
    R viaGateway();

    R servers(List<InetAddress> addresses);

    R none();

    R filter();
  }

  /** The container's gateway (Apple Container's default resolver). */
  record ViaGateway() implements DnsRule {
    @Override
    public <R> R match(Cases<R> cases) {
      return cases.viaGateway();
    }

    @Override
    public String toString() {
      return "dns gateway";
    }
  }

  /** Exactly these resolvers; sorted, without duplicates, at least one. */
  record Servers(List<InetAddress> addresses) implements DnsRule {
    public Servers {
      if (addresses.isEmpty()) {
        throw new IllegalArgumentException(
            "a DNS server list needs at least one address; " + "write 'dns none' to allow no DNS");
      }
      addresses =
          addresses.stream()
              .distinct()
              .sorted(Comparator.comparing(IpNetwork::host))
              .collect(Collectors.toUnmodifiableList());
    }

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.servers(addresses);
    }

    @Override
    public String toString() {
      return "dns " + addresses.stream().map(IpAddresses::format).collect(Collectors.joining(" "));
    }
  }

  /** No DNS at all. */
  record NoDns() implements DnsRule {
    @Override
    public <R> R match(Cases<R> cases) {
      return cases.none();
    }

    @Override
    public String toString() {
      return "dns none";
    }
  }

  /**
   * The enforcer's filtering resolver, and nothing else: names no allow line names get NXDOMAIN
   * without an upstream query, and only an allowed name's answered addresses are reachable through
   * it. An enforcer built without a filter refuses a policy with this rule.
   */
  record Filter() implements DnsRule {
    public static final String KEYWORD = "filter";

    @Override
    public <R> R match(Cases<R> cases) {
      return cases.filter();
    }

    @Override
    public String toString() {
      return "dns " + KEYWORD;
    }
  }

  static DnsRule gateway() {
    return new ViaGateway();
  }

  static DnsRule none() {
    return new NoDns();
  }

  static DnsRule filter() {
    return new Filter();
  }

  static DnsRule servers(InetAddress... addresses) {
    return new Servers(List.of(addresses));
  }
}
