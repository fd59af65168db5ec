package dev.egress.core;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.testkit.EgressEnforcerContract;
import dev.egress.testkit.FakeNameResolver;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

/** The shared lifecycle passes the conformance kit over an in-memory packet filter. */
class RulesetEnforcerConformanceTest extends EgressEnforcerContract {

  @Override
  protected Harness newHarness() {
    FakeBackend backend = new FakeBackend();
    FakeNameResolver resolver = new FakeNameResolver();
    RulesetEnforcer enforcer =
        RulesetEnforcer.builder(backend)
            .resolver(resolver)
            .retryDelay(Duration.ofMillis(20))
            .build();
    return new Harness() {
      private int containers;

      @Override
      public RulesetEnforcer enforcer() {
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
            List.of(IpAddresses.parse("10.200.0." + (containers + 1))),
            IpAddresses.parse("10.200.0.1"));
      }

      @Override
      public InetAddress internetAddress(int index) {
        return IpAddresses.parse("203.0.113." + (10 + index));
      }

      @Override
      public boolean allows(ContainerEndpoint source, Flow flow) {
        return backend.allows(source.addresses().get(0), flow);
      }

      @Override
      public void failPrivilegedOperations(boolean failing) {
        backend.failAlways(failing);
      }

      @Override
      public void close() {
        enforcer.close();
      }
    };
  }
}
