package dev.egress.pf.bench;

import dev.egress.enforcer.Attachment;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.policy.EgressPolicy;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.SideBySide;
import dev.egress.testkit.SideBySide.Captured;
import dev.egress.testkit.SideBySide.Recorder;
import dev.egress.testkit.pf.FakePfctl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * Benchmark command (not JMH: the subject is a process per pfctl call): what the pf enforcer adds
 * to the pfctl calls it makes, with {@link FakePfctl} installed as an executable (a JVM per call,
 * as each pfctl call is a process on a Mac), side by side in one run. A warm attach of a
 * 50-destination policy through the public API is timed against the same pfctl command lines run
 * bare with the very same input (captured from the attach), and a detach against its bare calls
 * (the flush, the state kills and the state read-back). The bare calls are what a script would run:
 * {@link ProcessBuilder}, input from a file written beforehand, output discarded. Prints medians of
 * {@code runs} (default 15), their ratios, and the pfctl processes each operation started. pf is
 * enabled by others, so no enable token is taken.
 */
public final class PfLoadOverheadBenchmark {
  private PfLoadOverheadBenchmark() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 15;
    int warmUp = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path scratch = Files.createTempDirectory("egress-pf-bench");
    try {
      Path pfctl = FakePfctl.installExecutable(scratch);
      Path state = scratch.resolve("pfctl.state");
      FakePfctl.withStateFile(state, FakePfctl::enableByOthers);
      FakeNameResolver resolver = new FakeNameResolver();
      EgressPolicy policy = PfEnforcerBenchmark.policy("api", resolver, 1);
      Recorder recorder = new Recorder(new SystemProcessRunner());
      Path inputs = Files.createDirectories(scratch.resolve("inputs"));

      try (PfEgressEnforcer enforcer =
          PfEgressEnforcer.builder()
              .resolver(resolver)
              .processRunner(recorder)
              .pfctlCommand(List.of(pfctl.toString()))
              .parentAnchor(PfEnforcerBenchmark.PARENT)
              .noHealthChecks()
              .build()) {
        // The parent, the JIT; then the calls of a warm attach and detach.
        enforcer.reconcile(Set.of());
        for (int cycle = 0; cycle < warmUp; cycle++) {
          enforcer.attach(PfEnforcerBenchmark.container(1), policy).detach();
        }
        Attachment[] current = new Attachment[1];
        Captured attachCalls =
            recorder.capture(
                () -> current[0] = enforcer.attach(PfEnforcerBenchmark.container(1), policy));
        Captured detachCalls = recorder.capture(() -> current[0].detach());
        SideBySide.Rounds rounds =
            SideBySide.alternate(
                runs,
                List.of(
                    () ->
                        recorder.timed(
                            () ->
                                current[0] =
                                    enforcer.attach(PfEnforcerBenchmark.container(1), policy),
                            attachCalls),
                    () -> recorder.timed(() -> current[0].detach(), detachCalls)),
                List.of(
                    () -> SideBySide.bare(attachCalls, inputs, argv -> false),
                    () -> SideBySide.bare(detachCalls, inputs, argv -> false)));
        System.out.printf(
            "pf enforcer vs its bare pfctl calls (FakePfctl executable), %d destinations,"
                + " %d runs, medians:%n",
            PfEnforcerBenchmark.DESTINATIONS, runs);
        SideBySide.report(rounds, 0, "warm attach (public API)", "bare pfctl -a A -f -");
        SideBySide.report(rounds, 1, "detach (public API)", "bare pfctl -F all, -k ..., -s state");
        System.out.printf(
            "  pfctl processes: %d per attach, %d per detach%n",
            attachCalls.commands().size(), detachCalls.commands().size());
        FakePfctl after = FakePfctl.readFrom(state);
        if (!after.refusedCalls().isEmpty()) {
          throw new IllegalStateException("refused pfctl calls: " + after.refusedCalls());
        }
      }
    } finally {
      try (var files = Files.walk(scratch)) {
        files.sorted(Collections.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }
}
