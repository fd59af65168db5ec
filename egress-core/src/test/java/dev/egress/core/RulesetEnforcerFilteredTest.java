package dev.egress.core;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.FilteredAttachmentsContract;
import dev.egress.testkit.SteppedClock;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The shared lifecycle passes the DNS filter's conformance kit over an in-memory packet filter
 * whose kernel expires grants itself, as nftables does.
 */
class RulesetEnforcerFilteredTest extends FilteredAttachmentsContract {
  private static final InetAddress FILTER = IpAddresses.parse("10.200.0.1");

  @Override
  protected Harness newHarness() {
    SteppedClock clock = new SteppedClock();
    FakeBackend backend = new FakeBackend();
    backend.clock(clock);
    RulesetEnforcer enforcer =
        RulesetEnforcer.builder(backend)
            .resolver(new FakeNameResolver())
            .clock(clock)
            .dnsFilter(FILTER)
            .noHealthChecks()
            .build();
    return new Harness() {
      private int containers;

      @Override
      public RulesetEnforcer enforcer() {
        return enforcer;
      }

      @Override
      public RulesetEnforcer attachments() {
        return enforcer;
      }

      @Override
      public InetAddress filterAddress() {
        return FILTER;
      }

      @Override
      public ContainerEndpoint newContainer() {
        int n = 2 + containers++;
        return new ContainerEndpoint(
            ContainerId.of("box-" + n), List.of(IpAddresses.parse("10.200.0." + n)), FILTER);
      }

      @Override
      public Instant now() {
        return clock.instant();
      }

      @Override
      public void advance(Duration duration) {
        clock.advance(duration);
      }

      @Override
      public boolean allows(ContainerEndpoint container, Flow flow) {
        return backend.allows(container.addresses().get(0), flow);
      }

      @Override
      public void failNextKernelUpdate() {
        backend.failNext(1);
      }

      @Override
      public void close() {
        enforcer.close();
      }
    };
  }
}
