package dev.egress.nftables;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.testkit.FakeNameResolver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * An enforcer in a process of its own, for a test that kills it mid-attach. Reads {@code attach ID
 * IPV4 IPV6 GATEWAY ALLOWED} lines (TCP 443 to ALLOWED becomes the policy) and answers {@code
 * attached ID} or {@code failed ...}.
 *
 * <p>Arguments: the nft command, then {@code --}, then the conntrack command.
 */
public final class CrashingEnforcerMain {
  private CrashingEnforcerMain() {}

  public static void main(String[] args) throws Exception {
    List<String> all = List.of(args);
    int split = all.indexOf("--");
    NftEgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(new FakeNameResolver())
            .nftCommand(all.subList(0, split))
            .conntrackCommand(all.subList(split + 1, all.size()))
            .commandTimeout(Duration.ofSeconds(30))
            .guard(
                new NftGuard(
                    List.of("eglbr0"),
                    List.of(IpNetwork.parse("10.77.0.0/24"), IpNetwork.parse("fd00:77::/64")),
                    false))
            .build();
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] words = line.split(" ");
      ContainerEndpoint endpoint =
          new ContainerEndpoint(
              ContainerId.of(words[1]),
              List.of(IpAddresses.parse(words[2]), IpAddresses.parse(words[3])),
              IpAddresses.parse(words[4]));
      EgressPolicy policy =
          EgressPolicy.builder()
              .allowTcp(new Destination.Network(IpNetwork.parse(words[5])), 443)
              .dns(DnsRule.none())
              .build();
      try {
        enforcer.attach(endpoint, policy);
        System.out.println("attached " + words[1]);
      } catch (Exception e) {
        System.out.println("failed " + e.getMessage());
      }
      System.out.flush();
    }
  }
}
