package dev.egress.pf.bench;

import dev.egress.enforcer.ContainerId;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.ScaleCurve;
import dev.egress.testkit.SideBySide.Recorder;
import dev.egress.testkit.pf.FakePfctl;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Benchmark command: the time of {@code reconcile} (every container live) and of the health check
 * of the pf enforcer over the in-process {@link FakePfctl} (its parsing and answers included, no
 * process start) with 250, 500 and 1,000 containers attached (by default; the sizes are the
 * arguments), each with {@link PfEnforcerBenchmark}'s 50-destination policy; medians of 3, the time
 * per attachment, and the pfctl calls one check makes. Issue 18 asked that both take time linear in
 * the number of attachments.
 */
public final class PfScaleBenchmark {
  private static final int REPEATS = 3;

  private PfScaleBenchmark() {}

  public static void main(String[] args) throws Exception {
    List<Integer> sizes = ScaleCurve.sizes(args);
    FakeNameResolver resolver = new FakeNameResolver();
    Recorder recorder = new Recorder(new FakePfctl().enableByOthers());
    try (PfEgressEnforcer enforcer =
        PfEgressEnforcer.builder()
            .resolver(resolver)
            .processRunner(recorder)
            .parentAnchor(PfEnforcerBenchmark.PARENT)
            .noHealthChecks()
            .build()) {
      System.out.printf(
          "pf over the in-process FakePfctl, %d destinations per container, medians of %d:%n",
          PfEnforcerBenchmark.DESTINATIONS, REPEATS);
      Set<ContainerId> live = new HashSet<>();
      ScaleCurve.measure(
          sizes,
          REPEATS,
          n -> {
            enforcer.attach(
                PfEnforcerBenchmark.container(n), PfEnforcerBenchmark.policy("c" + n, resolver, n));
            live.add(PfEnforcerBenchmark.container(n).id());
          },
          () -> enforcer.reconcile(live),
          () -> {
            if (!enforcer.checkHealth().isEmpty()) {
              throw new IllegalStateException("drift found where nobody changed anything");
            }
          },
          recorder,
          "pfctl");
    }
  }
}
