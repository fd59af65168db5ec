package dev.egress.nftables;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.lab.NetnsLab;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A launcher in a process of its own, for tests that kill it: it drives the public API of {@link
 * NftEgressEnforcer} against a lab. Prints {@code ready}, then reads one command per line and
 * answers each with {@code done} or {@code failed MESSAGE}:
 *
 * <ul>
 *   <li>{@code attach ID IPV4 IPV6 GATEWAY POLICY_FILE}: attaches the container, or updates it when
 *       it is attached already;
 *   <li>{@code detach ID}.
 * </ul>
 *
 * <p>Arguments: {@code guard} (the lab's bridge and networks) or {@code none}, the lab host's
 * {@code /proc/PID/net}, the nft command, {@code --}, the conntrack command. Names resolve as
 * {@link #names} says.
 */
public final class ChildLauncherMain {
  /** The one host name the tests' policies use. */
  static final String API = "api.example.test";

  private ChildLauncherMain() {}

  /** What the child and its parent test resolve names to: {@link #API} to the lab's web 0. */
  static FakeNameResolver names() {
    return new FakeNameResolver().set(API, NetnsLab.web(0), NetnsLab.webV6(0));
  }

  /** The guard of the lab's container bridge and networks. */
  static NftGuard labGuard() {
    return new NftGuard(
        List.of(NetnsLab.BRIDGE),
        List.of(IpNetwork.parse("10.77.0.0/24"), IpNetwork.parse("fd00:77::/64")),
        false);
  }

  public static void main(String[] args) throws Exception {
    List<String> all = List.of(args);
    int split = all.indexOf("--");
    NftEgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(names())
            .procNet(Path.of(all.get(1)))
            .nftCommand(all.subList(2, split))
            .conntrackCommand(all.subList(split + 1, all.size()))
            .commandTimeout(Duration.ofSeconds(30))
            .noHealthChecks()
            .guard(all.get(0).equals("guard") ? labGuard() : NftGuard.none())
            .build();
    Map<String, Attachment> attached = new HashMap<>();
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("ready");
    System.out.flush();
    String line;
    while ((line = in.readLine()) != null) {
      String[] words = line.split(" ");
      try {
        if (words[0].equals("detach")) {
          Attachment attachment = attached.remove(words[1]);
          if (attachment != null) {
            attachment.detach();
          }
        } else {
          EgressPolicy policy = PolicyText.read(Path.of(words[5]));
          Attachment attachment = attached.get(words[1]);
          if (attachment == null) {
            ContainerEndpoint endpoint =
                new ContainerEndpoint(
                    ContainerId.of(words[1]),
                    List.of(IpAddresses.parse(words[2]), IpAddresses.parse(words[3])),
                    IpAddresses.parse(words[4]));
            attached.put(words[1], enforcer.attach(endpoint, policy));
          } else {
            attachment.update(policy);
          }
        }
        System.out.println("done");
      } catch (Exception e) {
        System.out.println("failed " + e.getMessage());
      }
      System.out.flush();
    }
  }
}
