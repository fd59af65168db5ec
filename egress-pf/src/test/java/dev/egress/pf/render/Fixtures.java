package dev.egress.pf.render;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.pf.pfctl.AnchorPath;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** The containers and policies of the golden files and hand-computed verdicts. */
final class Fixtures {
  private Fixtures() {}

  static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  static EgressPolicy policy(String... lines) {
    try {
      return PolicyText.parse(String.join("\n", lines) + "\n", "fixture");
    } catch (PolicySyntaxException e) {
      throw new IllegalArgumentException(e);
    }
  }

  static Resolutions resolutions(Map<String, List<String>> names) {
    return new Resolutions(
        names.entrySet().stream()
            .collect(
                Collectors.toMap(
                    e -> HostName.of(e.getKey()),
                    e -> e.getValue().stream().map(Fixtures::ip).collect(Collectors.toSet()))));
  }

  static ContainerEndpoint container(String id, String gateway, String... addresses) {
    return new ContainerEndpoint(
        ContainerId.of(id),
        Arrays.stream(addresses).map(Fixtures::ip).toList(),
        gateway.isEmpty() ? null : ip(gateway));
  }

  static Child rules(ContainerEndpoint container, EgressPolicy policy, Resolutions resolutions) {
    return new Child(
        ParentAnchor.defaults().childName(container.id()), container, policy, resolutions);
  }

  /**
   * NanoClaw's default: Anthropic by name and by network, the credential proxy, DNS via gateway.
   */
  static Child nanoClaw() {
    return rules(
        container("nanoclaw-main", "192.168.64.1", "192.168.64.3", "fd00:64::3"),
        policy(
            "allow api.anthropic.com port 443",
            "allow 160.79.104.0/23 port 443",
            "allow gateway port 3001",
            "dns gateway",
            "log denied"),
        resolutions(Map.of("api.anthropic.com", List.of("160.79.104.10", "2607:6bc0::10"))));
  }

  /** Many names and ports, UDP included, a range spanning 53, and literal addresses. */
  static Child manyNamesAndPorts() {
    return rules(
        container("worker-7", "192.168.64.1", "192.168.64.7"),
        policy(
            "allow api.anthropic.com port 443",
            "allow github.com port 22",
            "allow github.com port 443",
            "allow registry.npmjs.org port 443",
            "allow pypi.org port 443",
            "allow files.pythonhosted.org port 443",
            "allow 10.1.2.3 port 5432-5433 proto tcp",
            "allow 10.1.2.4 port 5432-5433 proto tcp",
            "allow 10.9.0.0/16 port 1-1024 proto udp",
            "allow time.example.org port 123 proto udp",
            "allow gateway port 3001",
            "dns 192.168.64.1 9.9.9.9"),
        resolutions(
            Map.of(
                "api.anthropic.com", List.of("160.79.104.10"),
                "github.com", List.of("140.82.112.3", "140.82.112.4"),
                "registry.npmjs.org", List.of("104.16.0.34", "104.16.1.34"),
                "pypi.org", List.of("151.101.0.223"),
                "files.pythonhosted.org", List.of("151.101.64.223"),
                "time.example.org", List.of())));
  }

  /** An IPv6-only container on a ULA network. */
  static Child ipv6Only() {
    return rules(
        container("v6-agent", "fd00:64::1", "fd00:64::9", "fe80::9"),
        policy(
            "allow api.anthropic.com port 443",
            "allow 2607:6bc0::/48 port 443",
            "allow gateway port 3001",
            "dns 2001:4860:4860::8888"),
        resolutions(Map.of("api.anthropic.com", List.of("2607:6bc0::10"))));
  }

  /**
   * {@code dns filter} with a wildcard, on an enforcer whose filter listens on the gateway: the
   * wildcard's table holds what the filter granted.
   */
  static Child filtered() {
    ContainerEndpoint container =
        container("filtered-agent", "192.168.64.1", "192.168.64.4", "fd00:64::4");
    return new Child(
        ParentAnchor.defaults().childName(container.id()),
        container,
        policy(
            "allow api.anthropic.com port 443",
            "allow *.githubusercontent.com port 443",
            "allow 160.79.104.0/23 port 443",
            "allow gateway port 3001",
            "dns filter",
            "log denied"),
        resolutions(
            Map.of(
                "api.anthropic.com", List.of("160.79.104.10", "2607:6bc0::10"),
                "*.githubusercontent.com", List.of("185.199.108.133"))),
        ip("192.168.64.1"));
  }

  static Child denyAll() {
    return rules(
        container("locked-down", "192.168.64.1", "192.168.64.5", "fd00:64::5"),
        EgressPolicy.denyAll(),
        Resolutions.none());
  }

  /** Container ids whose anchor names the golden file {@code anchor-names.txt} pins. */
  static final List<String> NAMED_IDS =
      List.of(
          "agent-1",
          "nanoclaw-main_1",
          "a".repeat(42),
          "a".repeat(43),
          "nanoclaw-v2-family-group-chat-1764440000000",
          "8f14e45fceea167a5a36dedd4bea2543aa1f3c3b1e5c1f0e3f2b9a1c4d5e6f70",
          "my.container/1",
          "-rf",
          "x".repeat(200));

  /** The default parent and the longest one a parent may be (48 characters). */
  static final List<ParentAnchor> NAMING_PARENTS =
      List.of(
          ParentAnchor.defaults(),
          new ParentAnchor(
              AnchorPath.of("com.apple/000.egress.parent-of-48-characters-xyz"), null, false));

  /** For each parent and id: the child anchor's path and the id it was made from. */
  static String anchorNames() {
    StringBuilder out = new StringBuilder();
    for (ParentAnchor parent : NAMING_PARENTS) {
      for (String id : NAMED_IDS) {
        out.append(parent.childPath(parent.childName(ContainerId.of(id))))
            .append("  <- ")
            .append(id)
            .append('\n');
      }
    }
    return out.toString();
  }

  static Set<String> lines(String text) {
    return Set.of(text.split("\n"));
  }
}
