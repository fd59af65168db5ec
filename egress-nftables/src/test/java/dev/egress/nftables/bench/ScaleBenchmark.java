package dev.egress.nftables.bench;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.lab.NetnsLab;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.ScaleCurve;
import dev.egress.testkit.SideBySide.Recorder;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Benchmark command (not JMH: the subject is a real kernel, in the host namespace of a {@link
 * NetnsLab} of its own): the time of {@code reconcile} (every container live) and of the health
 * check with 250, 500 and 1,000 containers attached (by default; the sizes are the arguments), each
 * with a policy of 5 names on 2 ports and DNS to one resolver; medians of 3 of each, the time per
 * attachment, and the nft processes one check runs. Issue 18 asked that both take time linear in
 * the table size (they listed the table once per container: 150 containers, 41 s and 71 s). The
 * containers are addresses in 10.210.0.0/16 with no namespace of their own: the table, not the
 * traffic, is what is measured. Root only.
 */
public final class ScaleBenchmark {
  private static final int NAMES = 5;
  private static final int REPEATS = 3;

  private ScaleBenchmark() {}

  static ContainerEndpoint container(int n) {
    return new ContainerEndpoint(
        ContainerId.of("scale-" + n),
        List.of(IpAddresses.parse("10.210." + (n / 250) + "." + (n % 250 + 2))),
        IpAddresses.parse("10.210.0.1"));
  }

  /** Container {@code n}'s policy: names of its own, resolved by the fake resolver. */
  static EgressPolicy policy(int n, FakeNameResolver resolver) {
    EgressPolicy.Builder builder =
        EgressPolicy.builder().dns(DnsRule.servers(NetnsLab.dnsServer()));
    for (int j = 0; j < NAMES; j++) {
      String name = "c" + n + "-" + j + ".scale.test";
      resolver.set(
          name,
          IpAddresses.parse("198.18." + (n % 250) + "." + (j + 1)),
          IpAddresses.parse("2001:db8:" + Integer.toHexString(n) + "::" + (j + 1)));
      builder.allowTcp(Destination.host(name), 443).allowTcp(Destination.host(name), 8443);
    }
    return builder.build();
  }

  public static void main(String[] args) throws Exception {
    List<Integer> sizes = ScaleCurve.sizes(args);
    FakeNameResolver resolver = new FakeNameResolver();
    Recorder recorder = new Recorder(new SystemProcessRunner());
    try (NetnsLab lab = NetnsLab.start(1);
        NftEgressEnforcer enforcer =
            NftEgressEnforcer.builder()
                .resolver(resolver)
                .processRunner(recorder)
                .nftCommand(lab.inHost("nft"))
                .conntrackCommand(lab.inHost("conntrack"))
                .procNet(lab.hostProcNet())
                .guard(NftGuard.none())
                .noHealthChecks()
                // A listing of a large table outlasts the default 10 s on a loaded machine.
                .commandTimeout(Duration.ofMinutes(5))
                .build()) {
      System.out.printf(
          "nftables, real kernel, %d names x 2 ports per container, medians of %d:%n",
          NAMES, REPEATS);
      Set<ContainerId> live = new HashSet<>();
      ScaleCurve.measure(
          sizes,
          REPEATS,
          n -> {
            enforcer.attach(container(n), policy(n, resolver));
            live.add(container(n).id());
          },
          () -> enforcer.reconcile(live),
          () -> {
            if (!enforcer.checkHealth().isEmpty()) {
              throw new IllegalStateException("drift found on a table nobody touched");
            }
          },
          recorder,
          "nft");
    }
  }
}
