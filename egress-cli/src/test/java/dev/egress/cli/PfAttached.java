package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import java.util.List;

/** Attaches containers with the real pf enforcer over a {@link FakeHost}, as a launcher would. */
final class PfAttached {
  static final String POLICY =
      "allow api.anthropic.com port 443\nallow gateway port 3001\ndns gateway\n";

  private PfAttached() {}

  /**
   * Attaches {@code id} at {@code ipv4} (and {@code ipv6}, if not null) with {@link #POLICY};
   * leaves pf enabled.
   */
  static void attach(
      FakeHost host, String id, String ipv4, @org.jspecify.annotations.Nullable String ipv6)
      throws EgressException, PolicySyntaxException {
    FakeNameResolver resolver =
        new FakeNameResolver().set("api.anthropic.com", IpAddresses.parse("160.79.104.10"));
    List<java.net.InetAddress> addresses =
        ipv6 == null
            ? List.of(IpAddresses.parse(ipv4))
            : List.of(IpAddresses.parse(ipv4), IpAddresses.parse(ipv6));
    host.pf.enableByOthers();
    try (PfEgressEnforcer enforcer =
        PfEgressEnforcer.builder()
            .resolver(resolver)
            .processRunner(host)
            .pfctlCommand(List.of("/sbin/pfctl"))
            .build()) {
      enforcer.attach(
          new ContainerEndpoint(ContainerId.of(id), addresses, IpAddresses.parse("192.168.64.1")),
          PolicyText.parse(POLICY, "test"));
    }
    assertEquals(List.of(), host.pf.refusedCalls());
  }
}
