package dev.egress.policy;

import java.net.InetAddress;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Which DNS resolvers a container may query (UDP and TCP port 53). DNS to any other address is
 * denied, whatever the policy's allow rules say: an open port 53 is a tunnel.
 */
public sealed interface DnsRule permits DnsRule.ViaGateway, DnsRule.Servers, DnsRule.NoDns {

  /** The container's gateway (Apple Container's default resolver). */
  record ViaGateway() implements DnsRule {
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
    public String toString() {
      return "dns " + addresses.stream().map(IpAddresses::format).collect(Collectors.joining(" "));
    }
  }

  /** No DNS at all. */
  record NoDns() implements DnsRule {
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
