package dev.egress.pf.bench;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.pf.pfctl.AnchorName;
import dev.egress.pf.render.ChildRuleset;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.pf.render.PfRenderer;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.policy.Resolutions;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Renders one container's anchor for a 50-destination policy: 35 host names (2-4 addresses each,
 * both families) over 6 ports, 14 networks over 3 ports, and the gateway; an IPv4 and an IPv6
 * source address. {@code verify} never runs it; run it from the repository root with:
 *
 * <pre>
 * ./mvnw -q -o -pl egress-pf -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp "$(cat egress-pf/target/cp.txt):egress-pf/target/test-classes:egress-pf/target/classes" dev.egress.pf.bench.RenderBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RenderBenchmark {
  private AnchorName name;
  private ContainerEndpoint container;
  private EgressPolicy policy;
  private Resolutions resolutions;

  @Setup
  public void setUp() {
    EgressPolicy.Builder policy = EgressPolicy.builder().dns(DnsRule.gateway()).logDenied(true);
    int[] namePorts = {443, 80, 22, 8443, 9000, 5432};
    Map<HostName, Set<InetAddress>> resolutions = new HashMap<>();
    for (int i = 0; i < 35; i++) {
      HostName name = HostName.of("service-" + i + ".example.com");
      policy.allow(
          new Destination.Host(name), Protocol.TCP, PortRange.of(namePorts[i % namePorts.length]));
      Set<InetAddress> addresses = new LinkedHashSet<>();
      for (int a = 0; a < 2 + i % 3; a++) {
        addresses.add(IpAddresses.parse("203.0." + i + "." + (10 + a)));
      }
      addresses.add(IpAddresses.parse("2001:db8:" + Integer.toHexString(i) + "::10"));
      resolutions.put(name, addresses);
    }
    int[] networkPorts = {443, 8080, 5000};
    for (int i = 0; i < 14; i++) {
      String network =
          i % 2 == 0 ? "10." + i + ".0.0/16" : "2001:db8:ff" + Integer.toHexString(i) + "::/48";
      policy.allow(
          Destination.network(network),
          Protocol.TCP,
          new PortRange(networkPorts[i % 3], networkPorts[i % 3] + i));
    }
    policy.allowTcp(Destination.gateway(), 3001);
    ContainerEndpoint container =
        new ContainerEndpoint(
            ContainerId.of("bench-container"),
            List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00:64::3")),
            IpAddresses.parse("192.168.64.1"));
    this.name = ParentAnchor.defaults().childName(container.id());
    this.container = container;
    this.policy = policy.build();
    this.resolutions = new Resolutions(resolutions);
  }

  /** What an install renders: the plan, then its pf text. */
  @Benchmark
  public ChildRuleset renderFiftyDestinations() throws UnsupportedPolicyException {
    return PfRenderer.renderChild(name, EnforcementPlan.of(policy, container, resolutions));
  }

  public static void main(String[] args) throws RunnerException {
    new Runner(new OptionsBuilder().include(RenderBenchmark.class.getSimpleName()).build()).run();
  }
}
