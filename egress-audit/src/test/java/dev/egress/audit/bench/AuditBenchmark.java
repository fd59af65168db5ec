package dev.egress.audit.bench;

import dev.egress.audit.AddressHistory;
import dev.egress.audit.AuditWriter;
import dev.egress.audit.LogProcess;
import dev.egress.audit.NflogGroups;
import dev.egress.audit.Reason;
import dev.egress.audit.RefusalLog;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Benchmark command (a main: it times a real reader process): how many records per second the
 * reader side (a process's lines read by {@link LogProcess}, parsed, attributed by {@link
 * RefusalLog}) and {@link AuditWriter} sustain, and the CPU they spend per record, from which the
 * added CPU per 1,000 refused packets a second follows.
 *
 * <p>{@code [N]} (default 1,000,000): N lines as tcpdump prints them for NFLOG (TCP, UDP and ICMP
 * from 20 containers, both families) are written to a file on tmpfs, then {@code cat} of it is read
 * as tcpdump's output would be. The rate limit is lifted so that every record is written. tcpdump's
 * own CPU is not included (it depends on the kernel's NFLOG delivery, not on this code).
 */
public final class AuditBenchmark {
  private AuditBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "egress-audit-bench");
    Path lines = dir.resolve("lines.txt");
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < n; i++) {
      int c = i % 20;
      text.append(1796000000L + i / 1000).append('.').append(String.format("%06d", i % 1000_000));
      switch (i % 4) {
        case 0 ->
            text.append(" IP 10.77.0.").append(c + 2).append(".40000 > 203.0.113.9.443: tcp 0");
        case 1 ->
            text.append(" IP6 fd77::")
                .append(c + 2)
                .append(".40000 > 2001:db8::9.53: UDP, length 31");
        case 2 ->
            text.append(" IP 10.77.0.")
                .append(c + 2)
                .append(" > 203.0.113.9: ICMP echo request, id 7, seq 1, length 64");
        default ->
            text.append(" IP6 fd77::").append(c + 2).append(".41000 > 2001:db8::9.8443: tcp 0");
      }
      text.append('\n');
    }
    Files.writeString(lines, text);

    AddressHistory history = AddressHistory.withDefaults();
    for (int c = 0; c < 20; c++) {
      history.attached(
          Instant.ofEpochSecond(1796000000L - 10),
          new ContainerEndpoint(
              ContainerId.of("c" + c),
              List.of(
                  IpAddresses.parse("10.77.0." + (c + 2)), IpAddresses.parse("fd77::" + (c + 2))),
              null),
          EgressPolicy.denyAll(),
          "agent");
    }
    NflogGroups groups = NflogGroups.defaults();
    int group = groups.group(Reason.NOT_IN_POLICY);

    for (int round = 0; round < 3; round++) {
      Path audit = dir.resolve("audit-" + round + ".jsonl");
      long cpuBefore = cpuNanos();
      long start = System.nanoTime();
      AuditWriter writer;
      try (AuditWriter w =
          AuditWriter.builder(audit)
              .rateLimit(1e9, 1_000_000_000)
              .maxFileBytes(1L << 30)
              .queueCapacity(100_000)
              .build()) {
        writer = w;
        RefusalLog log = new RefusalLog(history, w, record -> {});
        CountDownLatch done = new CountDownLatch(1);
        int[] seen = {0};
        try (LogProcess reader =
            LogProcess.start(
                List.of("cat", lines.toString()),
                line -> {
                  log.nflogLine(groups, group, line);
                  if (++seen[0] == n) {
                    done.countDown();
                  }
                })) {
          done.await();
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double cpu = (cpuNanos() - cpuBefore) / 1e9;
      long dropped = 0;
      for (int c = 0; c < 20; c++) {
        dropped += writer.dropped(ContainerId.of("c" + c));
      }
      System.out.printf(
          "round %d: %d lines, %d written, %d left out (queue full), %.2f s: %.0f records/s;"
              + " JVM CPU %.2f s = %.1f µs per record = %.1f%% of one core per 1,000 records/s%n",
          round,
          n,
          writer.written(),
          dropped,
          seconds,
          writer.written() / seconds,
          cpu,
          cpu / n * 1e6,
          cpu / n * 1000 * 100);
      Files.delete(audit);
    }
    Files.delete(lines);
    Files.delete(dir);
  }

  private static long cpuNanos() {
    return ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
  }
}
