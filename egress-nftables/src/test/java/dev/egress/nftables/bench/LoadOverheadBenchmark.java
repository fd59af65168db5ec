package dev.egress.nftables.bench;

import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.Attachment;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.SideBySide;
import dev.egress.testkit.SideBySide.Captured;
import dev.egress.testkit.SideBySide.Recorder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;

/**
 * Benchmark command (not JMH: the subject is a real kernel in a {@link NetnsLab}): what the library
 * adds to the kernel calls it makes, side by side in one run and one lab namespace. A warm attach
 * of a 20-name policy through the public API is timed against a bare {@code nft -f} of the very
 * same transaction (captured from the attach), and a detach against its bare calls (the same
 * removal transaction and the same {@code conntrack -R -} batch). The bare calls are what a script
 * would run: the same command lines through {@link ProcessBuilder}, each reading its input from a
 * file written beforehand (as the library's runner does), output discarded. Prints medians of
 * {@code runs} (default 30), their ratios, and the processes each operation started. Root only.
 */
public final class LoadOverheadBenchmark {
  private static final int NAMES = 20;

  private LoadOverheadBenchmark() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 30;
    int warmUp = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    Path scratch = Files.createTempDirectory("egress-bench");
    try (NetnsLab lab = NetnsLab.start(1);
        TestDnsServer dns = TestDnsServer.start();
        DnsNameResolver resolver =
            DnsNameResolver.builder().servers(List.of(dns.address())).build()) {
      for (int i = 0; i < NAMES; i++) {
        dns.setAddresses(
            "name" + i + ".bench.test",
            Duration.ofMinutes(10),
            i == 0 ? IpAddresses.format(NetnsLab.web(0)) : "10.99.1." + (i + 1));
      }
      EgressPolicy.Builder builder =
          EgressPolicy.builder().dns(DnsRule.servers(NetnsLab.dnsServer()));
      for (int i = 0; i < NAMES; i++) {
        builder.allowTcp(Destination.host("name" + i + ".bench.test"), 443);
      }
      EgressPolicy policy = builder.build();
      LabContainer container = lab.container(1);
      Recorder recorder = new Recorder(new SystemProcessRunner());

      try (NftEgressEnforcer enforcer =
          NftEgressEnforcer.builder()
              .resolver(resolver)
              .processRunner(recorder)
              .nftCommand(lab.inHost("nft"))
              .conntrackCommand(lab.inHost("conntrack"))
              .procNet(lab.hostProcNet())
              .guard(new NftGuard(List.of(NetnsLab.BRIDGE), lab.containerNetworks(), false))
              .build()) {
        // The table, the cache, the JIT; then the calls of a warm attach and detach.
        for (int cycle = 0; cycle < warmUp; cycle++) {
          enforcer.attach(container.endpoint(), policy).detach();
        }
        Attachment[] current = new Attachment[1];
        Captured attachCalls =
            recorder.capture(() -> current[0] = enforcer.attach(container.endpoint(), policy));
        Captured detachCalls = recorder.capture(() -> current[0].detach());
        SideBySide.Rounds rounds =
            SideBySide.alternate(
                runs,
                List.of(
                    () ->
                        recorder.timed(
                            () -> current[0] = enforcer.attach(container.endpoint(), policy),
                            attachCalls),
                    () -> recorder.timed(() -> current[0].detach(), detachCalls)),
                List.of(() -> bare(attachCalls, scratch), () -> bare(detachCalls, scratch)));
        System.out.printf(
            "library vs its bare kernel calls, %d names, %d runs, medians:%n", NAMES, runs);
        SideBySide.report(rounds, 0, "warm attach (public API)", "bare nft -f of the same");
        SideBySide.report(rounds, 1, "detach (public API)", "bare nft -f - + conntrack -R -");
        System.out.printf(
            "  processes: %d per attach, %d per detach%n",
            attachCalls.commands().size(), detachCalls.commands().size());
      }
    } finally {
      try (var files = Files.walk(scratch)) {
        files.sorted(Collections.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }

  /** The bare calls; a conntrack deletion that finds nothing exits 1. */
  private static long bare(Captured calls, Path scratch) throws IOException, InterruptedException {
    return SideBySide.bare(calls, scratch, argv -> argv.contains("-R"));
  }
}
