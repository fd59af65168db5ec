package dev.egress.pf;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.testkit.EgressEnforcerContract;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.pf.FakePfctl;
import dev.egress.testkit.pf.PfVerdict;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * PfEgressEnforcer passes the conformance kit over FakePfctl; {@code allows} is pf's verdict, by
 * the pf evaluator, over what the fake holds (main ruleset hook, pf enabled, parent with guard,
 * container anchors and their tables).
 */
class PfEgressEnforcerConformanceTest extends EgressEnforcerContract {
  private static final List<String> KERNEL_CHANGES =
      List.of("-f -", "-F all", "-T replace", "-k", "-E");

  @Override
  protected Harness newHarness() throws Exception {
    FakePfctl fake = new FakePfctl();
    FakeNameResolver resolver = new FakeNameResolver();
    PfEgressEnforcer enforcer =
        PfEgressEnforcer.builder()
            .resolver(resolver)
            .processRunner(fake)
            .parentAnchor(PfFixture.PARENT)
            .retryDelay(Duration.ofMillis(20))
            .build();
    enforcer.reconcile(Set.of()); // as a launcher starts: guard up before any container
    return new Harness() {
      private int containers;

      @Override
      public PfEgressEnforcer enforcer() {
        return enforcer;
      }

      @Override
      public FakeNameResolver resolver() {
        return resolver;
      }

      @Override
      public ContainerEndpoint newContainer() {
        containers++;
        return new ContainerEndpoint(
            ContainerId.of("container-" + containers),
            List.of(
                IpAddresses.parse("192.168.70." + (containers + 1)),
                IpAddresses.parse("fd00:70::" + Integer.toHexString(containers + 1))),
            IpAddresses.parse("192.168.70.1"));
      }

      @Override
      public InetAddress internetAddress(int index) {
        return IpAddresses.parse("203.0.113." + (10 + index));
      }

      @Override
      public boolean allows(ContainerEndpoint source, Flow flow) {
        InetAddress from =
            source.addresses().stream()
                .filter(a -> IpAddresses.isIpv6(a) == IpAddresses.isIpv6(flow.destination()))
                .findFirst()
                .orElseThrow();
        return fake.verdict(PfFixture.PARENT.path().value(), PfFixture.packet(from, flow))
            == PfVerdict.PASS;
      }

      @Override
      public void failPrivilegedOperations(boolean failing) {
        fake.clearFaults();
        if (failing) {
          for (String change : KERNEL_CHANGES) {
            fake.failOn(change, 0, 1, "pfctl: DIOCXCOMMIT: Device busy");
          }
        }
      }

      @Override
      public void close() {
        enforcer.close();
        if (!fake.refusedCalls().isEmpty()) {
          throw new AssertionError("forbidden pfctl calls: " + fake.refusedCalls());
        }
      }
    };
  }
}
