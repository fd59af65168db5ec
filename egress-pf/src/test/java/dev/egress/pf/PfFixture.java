package dev.egress.pf;

import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.Protocol;
import dev.egress.process.ProcessRunner;
import dev.egress.testkit.pf.FakePfctl;
import dev.egress.testkit.pf.PfPacket;
import dev.egress.testkit.pf.PfVerdict;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;

/** A PfEgressEnforcer over an in-memory FakePfctl, with a guard on a managed network. */
final class PfFixture implements AutoCloseable {
  static final String BRIDGE = "bridge101";
  static final ParentAnchor PARENT =
      ParentAnchor.defaults()
          .guarding(
              ManagedNetwork.of(
                  IpNetwork.parse("192.168.70.0/24"), IpNetwork.parse("fd00:70::/64")),
              false);

  final FakePfctl fake;
  final ScriptedResolver resolver = new ScriptedResolver();
  final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread thread = new Thread(r, "pf-test-scheduler");
            thread.setDaemon(true);
            return thread;
          });

  PfFixture() {
    this(new FakePfctl());
  }

  PfFixture(FakePfctl fake) {
    this.fake = fake;
  }

  PfEgressEnforcer enforcer() {
    return enforcer(fake, List.of("/sbin/pfctl"));
  }

  PfEgressEnforcer enforcer(ProcessRunner runner, List<String> command) {
    return builder(runner, command).build();
  }

  /** Background retries are held back an hour: tests retry explicitly. */
  PfEgressEnforcer.Builder builder(ProcessRunner runner, List<String> command) {
    return PfEgressEnforcer.builder()
        .resolver(resolver)
        .processRunner(runner)
        .pfctlCommand(command)
        .parentAnchor(PARENT)
        .scheduler(scheduler)
        .retryDelay(Duration.ofHours(1))
        // Tests count pfctl calls and call checkHealth() when they mean it; a periodic check
        // would add calls whenever a slow machine stretches a test past its period.
        .noHealthChecks();
  }

  static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  /** Would pf, as the fake now holds it, pass {@code flow} from {@code source}? */
  boolean passes(InetAddress source, Flow flow) {
    return filter().apply(packet(source, flow)) == PfVerdict.PASS;
  }

  Function<PfPacket, PfVerdict> filter() {
    return fake.packetFilter(PARENT.path().value());
  }

  static PfPacket packet(InetAddress source, Flow flow) {
    return PfPacket.in(
        BRIDGE,
        flow.protocol() == Protocol.TCP ? PfPacket.IpProtocol.TCP : PfPacket.IpProtocol.UDP,
        source,
        flow.destination(),
        flow.port());
  }

  List<String> callLines() {
    return fake.calls().stream().map(FakePfctl.Call::line).toList();
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
