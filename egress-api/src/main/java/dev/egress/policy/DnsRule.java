package dev.egress.policy;

import java.net.InetAddress;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Which DNS resolvers a container may query (UDP and TCP port 53). DNS to any other address is
 * denied, whatever the policy's allow rules say: an open port 53 is a tunnel.
 *
 * <p>Code that acts on the kind of rule calls {@link #match}, so that a new kind fails to compile
 * wherever it is not handled.
 */
public sealed interface DnsRule permits DnsRule.ViaGateway, DnsRule.Servers, DnsRule.NoDns {

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

  static DnsRule gateway() {
    return new ViaGateway();
  }

  static DnsRule none() {
    return new NoDns();
  }

  static DnsRule servers(InetAddress... addresses) {
    return new Servers(List.of(addresses));
  }
}
