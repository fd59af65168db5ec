package dev.egress.dns.bench;

import dev.egress.dns.DnsNameResolver;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.Resolutions;
import dev.egress.testkit.dns.ScriptedResolver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Cold resolution of 20 names against a local test server that answers after 50 ms, warm lookups
 * from the cache, and (in {@link #main}) the heap taken per cached name.
 *
 * <p>Run: see the egress-dns section of the README. {@code main} runs the JMH benchmarks and then
 * the memory measurement; {@code main memory} runs only the latter.
 */
public class DnsNameResolverBenchmark {
  private static final int NAMES = 20;
  private static final Duration UPSTREAM_DELAY = Duration.ofMillis(50);

  static Set<HostName> names(int count) {
    Set<HostName> names = new HashSet<>();
    for (int i = 0; i < count; i++) {
      names.add(HostName.of("n" + i + ".bench.example"));
    }
    return Set.copyOf(names);
  }

  static TestDnsServer serverFor(Set<HostName> names) throws IOException {
    TestDnsServer server = TestDnsServer.start();
    int i = 0;
    for (HostName name : names) {
      i++;
      server.setAddresses(name.ascii(), Duration.ofHours(1), "192.0.2." + i, "2001:db8::" + i);
    }
    return server;
  }

  /** A fresh resolver for each invocation: every lookup is cold. */
  @State(Scope.Benchmark)
  public static class Cold {
    Set<HostName> names;
    TestDnsServer server;
    DnsNameResolver resolver;

    @Setup(Level.Trial)
    public void startServer() throws IOException {
      names = names(NAMES);
      server = serverFor(names);
      server.setDelay(UPSTREAM_DELAY);
    }

    @Setup(Level.Invocation)
    public void newResolver() {
      resolver =
          DnsNameResolver.builder()
              .servers(List.of(server.address()))
              .queryTimeout(Duration.ofSeconds(2))
              .build();
    }

    @TearDown(Level.Invocation)
    public void closeResolver() {
      resolver.close();
    }

    @TearDown(Level.Trial)
    public void stopServer() {
      server.close();
    }
  }

  /** One resolver whose cache holds all names for an hour. */
  @State(Scope.Benchmark)
  public static class Warm {
    Set<HostName> names;
    Set<HostName> oneName;
    TestDnsServer server;
    DnsNameResolver resolver;

    @Setup(Level.Trial)
    public void warmUp() throws Exception {
      names = names(NAMES);
      oneName = Set.of(names.iterator().next());
      server = serverFor(names);
      resolver =
          DnsNameResolver.builder()
              .servers(List.of(server.address()))
              .ttlCeiling(Duration.ofHours(2))
              .build();
      requireAll(resolver.resolve(names), names);
    }

    @TearDown(Level.Trial)
    public void stop() {
      resolver.close();
      server.close();
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 2, time = 2)
  @Measurement(iterations = 5, time = 2)
  @Fork(1)
  public Resolutions coldResolve20Names(Cold cold) throws InterruptedException {
    return requireAll(cold.resolver.resolve(cold.names), cold.names);
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.NANOSECONDS)
  @Warmup(iterations = 5, time = 1)
  @Measurement(iterations = 5, time = 1)
  @Fork(1)
  public Resolutions warmResolveOneName(Warm warm) throws InterruptedException {
    return warm.resolver.resolve(warm.oneName);
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.NANOSECONDS)
  @Warmup(iterations = 5, time = 1)
  @Measurement(iterations = 5, time = 1)
  @Fork(1)
  public Resolutions warmResolve20Names(Warm warm) throws InterruptedException {
    return warm.resolver.resolve(warm.names);
  }

  private static Resolutions requireAll(Resolutions resolutions, Set<HostName> names) {
    for (HostName name : names) {
      if (resolutions.addressesOf(name).size() != 2) {
        throw new IllegalStateException(name + " did not resolve: " + resolutions);
      }
    }
    return resolutions;
  }

  /**
   * Heap per cached name: 10,000 names (one A and one AAAA address each, from an in-memory
   * upstream) resolved into one fresh resolver; used heap after full GCs, minus the same before.
   * The names' {@link HostName} values exist before the baseline (policies hold them).
   */
  static void measureMemory(int count) throws Exception {
    List<HostName> names = new ArrayList<>(names(count));
    ScriptedResolver upstream =
        new ScriptedResolver(
            name -> {
              int h = name.hashCode();
              return ScriptedResolver.Reply.addresses(
                  Duration.ofHours(1),
                  List.of(
                      IpAddresses.fromBytes(
                          new byte[] {10, (byte) (h >> 16), (byte) (h >> 8), (byte) h}),
                      IpAddresses.fromBytes(
                          new byte[] {
                            0x20,
                            0x01,
                            0x0d,
                            (byte) 0xb8,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            (byte) (h >> 24),
                            (byte) (h >> 16),
                            (byte) (h >> 8),
                            (byte) h
                          })));
            });
    // A first resolver fills the upstream's per-name query counters, so that they are part of
    // the baseline and the delta holds only the second resolver's cache.
    try (DnsNameResolver first = DnsNameResolver.builder().upstream(upstream).build()) {
      for (int from = 0; from < count; from += 100) {
        first.resolve(Set.copyOf(names.subList(from, Math.min(count, from + 100))));
      }
    }
    DnsNameResolver resolver =
        DnsNameResolver.builder().upstream(upstream).ttlCeiling(Duration.ofHours(2)).build();
    resolver.resolve(Set.of(HostName.of("warm-up.bench.example")));
    long before = usedHeapAfterGc();
    for (int from = 0; from < count; from += 100) {
      Set<HostName> batch = Set.copyOf(names.subList(from, Math.min(count, from + 100)));
      requireAll(resolver.resolve(batch), batch);
    }
    long after = usedHeapAfterGc();
    int cached = resolver.status().size();
    System.out.printf(
        "memory: %d names cached (1 A + 1 AAAA each), heap %+,d bytes, %,d bytes per name%n",
        cached, after - before, (after - before) / count);
    resolver.close();
    java.lang.ref.Reference.reachabilityFence(names);
  }

  private static long usedHeapAfterGc() throws InterruptedException {
    Runtime runtime = Runtime.getRuntime();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(200);
      used = Math.min(used, runtime.totalMemory() - runtime.freeMemory());
    }
    return used;
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0 || !args[0].equals("memory")) {
      new Runner(
              new OptionsBuilder()
                  .include(DnsNameResolverBenchmark.class.getName() + "\\.")
                  .build())
          .run();
    }
    measureMemory(10_000);
  }
}
