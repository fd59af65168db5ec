package dev.egress.pf.bench;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.pf.FakePfctl;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * What the pf enforcer costs besides pfctl itself. {@link #main} first prints counted figures
 * (privileged calls per attach, detach and refresh; heap per attachment with 500 attached), then
 * runs the JMH benchmarks: attach latency for a 50-destination policy with a warm resolver, and the
 * time of a one-name refresh with 50 and with 500 containers attached.
 *
 * <p>"pfctl" is either the in-memory {@link FakePfctl} ({@code fake}: its parsing is included) or a
 * runner that answers at once ({@code instant}: the library alone).
 */
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class PfEnforcerBenchmark {
  static final ParentAnchor PARENT =
      ParentAnchor.defaults()
          .guarding(
              ManagedNetwork.of(IpNetwork.parse("10.64.0.0/16"), IpNetwork.parse("fd00:64::/64")),
              false);
  static final int DESTINATIONS = 50;

  /** pfctl that succeeds at once, as an enabled pf would answer; counts its calls. */
  static final class InstantPfctl implements ProcessRunner {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public ProcessResult run(Command command) {
      calls.incrementAndGet();
      boolean info = command.argv().contains("info");
      return new ProcessResult(
          0,
          info ? "Status: Enabled for 0 days 00:00:01  Debug: Urgent\n" : "",
          "No ALTQ support in kernel\nALTQ related functions disabled\n");
    }
  }

  /** Counts the calls of another runner. */
  static final class Counting implements ProcessRunner {
    final ProcessRunner delegate;
    final AtomicInteger calls = new AtomicInteger();

    Counting(ProcessRunner delegate) {
      this.delegate = delegate;
    }

    @Override
    public ProcessResult run(Command command) throws java.io.IOException, InterruptedException {
      calls.incrementAndGet();
      return delegate.run(command);
    }
  }

  static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  /** Container {@code n}: one IPv4 and one IPv6 address in the guarded network. */
  static ContainerEndpoint container(int n) {
    return new ContainerEndpoint(
        ContainerId.of("bench-" + n),
        List.of(
            ip("10.64." + (n / 250) + "." + (n % 250 + 2)),
            ip("fd00:64::" + Integer.toHexString(n + 2))),
        ip("10.64.0.1"));
  }

  /** 50 host names ({@code prefix-j.bench.test}) on TCP 443, DNS through the gateway. */
  static EgressPolicy policy(String prefix, FakeNameResolver resolver, int seed) {
    EgressPolicy.Builder builder = EgressPolicy.builder().dns(DnsRule.gateway());
    for (int j = 0; j < DESTINATIONS; j++) {
      String name = prefix + "-" + j + ".bench.test";
      resolver.set(
          name,
          ip("198.18." + (seed % 200) + "." + (j + 1)),
          ip("2001:db8::" + Integer.toHexString(j + 1)));
      builder.allowTcp(Destination.host(name), 443);
    }
    return builder.build();
  }

  static PfEgressEnforcer enforcer(FakeNameResolver resolver, ProcessRunner runner) {
    return PfEgressEnforcer.builder()
        .resolver(resolver)
        .processRunner(runner)
        .parentAnchor(PARENT)
        .build();
  }

  /** One container attached and detached over and over. */
  @State(Scope.Thread)
  public static class AttachState {
    @Param({"fake", "instant"})
    public String pfctl;

    PfEgressEnforcer enforcer;
    EgressPolicy policy;
    Attachment current;

    @Setup(Level.Trial)
    public void setUp() throws EgressException {
      FakeNameResolver resolver = new FakeNameResolver();
      policy = policy("api", resolver, 1);
      ProcessRunner runner = pfctl.equals("fake") ? new FakePfctl() : new InstantPfctl();
      enforcer = enforcer(resolver, runner);
      enforcer.reconcile(Set.of());
      enforcer.attach(container(0), policy).detach(); // the lifecycle's own first prepare
    }

    @Setup(Level.Invocation)
    public void detachPrevious() throws EgressException {
      if (current != null) {
        current.detach();
        current = null;
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      enforcer.close();
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Attachment attach50Destinations(AttachState state) throws EgressException {
    state.current = state.enforcer.attach(container(1), state.policy);
    return state.current;
  }

  /** {@code containers} attached, each with 50 names of its own; one name changes per op. */
  @State(Scope.Thread)
  public static class RefreshState {
    @Param({"50", "500"})
    public int containers;

    FakeNameResolver resolver;
    PfEgressEnforcer enforcer;
    InstantPfctl runner;
    boolean flip;

    @Setup(Level.Trial)
    public void setUp() throws EgressException {
      resolver = new FakeNameResolver();
      runner = new InstantPfctl();
      enforcer = enforcer(resolver, runner);
      for (int n = 0; n < containers; n++) {
        enforcer.attach(container(n), policy("c" + n, resolver, n));
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      enforcer.close();
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public boolean refreshOneChangedName(RefreshState state) {
    state.flip = !state.flip;
    state.resolver.set("c7-3.bench.test", ip(state.flip ? "198.51.100.1" : "198.51.100.2"));
    return state.flip;
  }

  /** Prints the counted figures, then runs the benchmarks above. */
  public static void main(String[] args) throws Exception {
    countCalls();
    measureMemory(500);
    new Runner(new OptionsBuilder().include(PfEnforcerBenchmark.class.getName() + ".*").build())
        .run();
  }

  private static void countCalls() throws EgressException {
    FakeNameResolver resolver = new FakeNameResolver();
    FakePfctl fake = new FakePfctl();
    Counting runner = new Counting(fake);
    try (PfEgressEnforcer enforcer = enforcer(resolver, runner)) {
      enforcer.reconcile(Set.of());
      System.out.println(
          "pfctl calls, startup reconcile (pf disabled): " + runner.calls.getAndSet(0));
      enforcer.attach(container(0), policy("a", resolver, 0));
      System.out.println("pfctl calls, first attach: " + runner.calls.getAndSet(0));
      Attachment second = enforcer.attach(container(1), policy("b", resolver, 1));
      System.out.println(
          "pfctl calls, steady-state attach (50 destinations): " + runner.calls.getAndSet(0));
      resolver.set("b-3.bench.test", ip("198.51.100.9"));
      System.out.println("pfctl calls, refresh of one changed name: " + runner.calls.getAndSet(0));
      second.detach();
      System.out.println(
          "pfctl calls, detach (1 IPv4 + 1 IPv6 address): " + runner.calls.getAndSet(0));
      System.out.println("refused (forbidden) calls: " + fake.refusedCalls().size());
    }
  }

  private static void measureMemory(int count) throws EgressException {
    FakeNameResolver resolver = new FakeNameResolver();
    List<EgressPolicy> policies = new ArrayList<>();
    for (int n = 0; n < count; n++) {
      policies.add(policy("m" + n, resolver, n));
    }
    PfEgressEnforcer enforcer = enforcer(resolver, new InstantPfctl());
    enforcer.reconcile(Set.of());
    long before = usedHeapAfterGc();
    List<Attachment> attachments = new ArrayList<>();
    for (int n = 0; n < count; n++) {
      attachments.add(enforcer.attach(container(n), policies.get(n)));
    }
    long after = usedHeapAfterGc();
    System.out.printf(
        "heap per attachment with %d attached (50 names each): %.1f KiB%n",
        attachments.size(), (after - before) / 1024.0 / count);
    enforcer.close();
  }

  private static long usedHeapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    Runtime runtime = Runtime.getRuntime();
    return runtime.totalMemory() - runtime.freeMemory();
  }
}
