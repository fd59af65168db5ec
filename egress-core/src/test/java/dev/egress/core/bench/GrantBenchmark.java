package dev.egress.core.bench;

import dev.egress.core.FirewallBackend;
import dev.egress.core.Preview;
import dev.egress.core.RulesetEnforcer;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The lifecycle's side of a DNS filter's grant ({@link RulesetEnforcer#grant}): p50 and p99 per
 * grant of one address while the container holds N grants, over a backend whose calls do nothing,
 * so that what is timed is the enforcer's own work (and the garbage it leaves). Each timed grant
 * extends one held address's grant, so N stays N.
 *
 * <p>Run: {@code GrantBenchmark [N...]} (default 10 100 1000 10000); see "Performance" in the
 * README.
 */
public final class GrantBenchmark {
  private static final int WARMUP = 20_000;
  private static final int TIMED = 20_000;
  private static final InetAddress FILTER = IpAddresses.parse("10.77.0.53");
  private static final HostName ASKED = HostName.of("img.cdn.bench.test");
  private static final ContainerEndpoint BOX =
      new ContainerEndpoint(
          ContainerId.of("bench"), List.of(IpAddresses.parse("10.77.0.2")), FILTER);

  private GrantBenchmark() {}

  public static void main(String[] args) throws Exception {
    int[] held =
        args.length == 0
            ? new int[] {10, 100, 1_000, 10_000}
            : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
    EgressPolicy policy =
        PolicyText.parse("allow *.cdn.bench.test port 443\ndns filter\n", "benchmark");
    run(policy, 100, false); // the compiler's work, before any figure is taken
    for (int count : held) {
      run(policy, count, true);
    }
  }

  /**
   * Times {@link #TIMED} grants (after {@link #WARMUP}) with {@code count} held and prints p50 and
   * p99 if {@code print}.
   */
  private static void run(EgressPolicy policy, int count, boolean print) throws Exception {
    long[] nanos = new long[TIMED];
    try (RulesetEnforcer enforcer =
        RulesetEnforcer.builder(new IdleBackend())
            .resolver(new FakeNameResolver())
            .dnsFilter(FILTER)
            .noHealthChecks()
            .build()) {
      enforcer.attach(BOX, policy);
      List<InetAddress> addresses = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        addresses.add(
            InetAddress.getByAddress(new byte[] {10, (byte) 100, (byte) (i >> 8), (byte) i}));
      }
      Instant base = Instant.now().plusSeconds(3_600);
      enforcer.grant(BOX.id(), ASKED, new HashSet<>(addresses), base);
      for (int i = 0; i < WARMUP + TIMED; i++) {
        Set<InetAddress> one = Set.of(addresses.get(i % count));
        Instant later = base.plusMillis(i + 1);
        long start = System.nanoTime();
        enforcer.grant(BOX.id(), ASKED, one, later);
        long took = System.nanoTime() - start;
        if (i >= WARMUP) {
          nanos[i - WARMUP] = took;
        }
      }
    }
    if (print) {
      Arrays.sort(nanos);
      System.out.printf(
          Locale.ROOT,
          "held %6d: grant p50 %8.2f µs, p99 %8.2f µs%n",
          count,
          nanos[TIMED / 2] / 1_000.0,
          nanos[TIMED * 99 / 100] / 1_000.0);
    }
  }

  /** A kernel that expires grants itself (as nftables does) and whose every call does nothing. */
  private static final class IdleBackend implements FirewallBackend {
    private record Name(String value) implements RuleSetName {}

    @Override
    public RuleSetName ruleSetName(ContainerId containerId) {
      return new Name("c-" + containerId);
    }

    @Override
    public void checkSupported(EgressPolicy policy) {}

    @Override
    public void prepare() {}

    @Override
    public Preview preview(RuleSetName name, EnforcementPlan plan) {
      return new Preview(name, plan, plan.toString(), "install " + name);
    }

    @Override
    public void install(RuleSetName name, EnforcementPlan plan) {}

    @Override
    public void grant(
        RuleSetName name,
        EnforcementPlan plan,
        Map<HostName, Map<InetAddress, Instant>> additions) {}

    @Override
    public boolean expiresGrants() {
      return true;
    }

    @Override
    public void revoke(
        RuleSetName name, EnforcementPlan plan, Map<HostName, Set<InetAddress>> removals) {
      throw new UnsupportedOperationException("grants expire by themselves");
    }

    @Override
    public void refreshAddresses(RuleSetName name, EnforcementPlan plan, Set<HostName> names) {}

    @Override
    public void remove(RuleSetName name, List<InetAddress> addresses) {}

    @Override
    public Map<RuleSetName, List<InetAddress>> installed() {
      return Map.of();
    }

    @Override
    public boolean isIntact(RuleSetName name, EnforcementPlan plan) {
      return true;
    }

    @Override
    public Map<RuleSetName, TrafficCounters> counters() {
      return Map.of();
    }

    @Override
    public List<String> hostProblems() {
      return List.of();
    }

    @Override
    public void close() {}
  }
}
