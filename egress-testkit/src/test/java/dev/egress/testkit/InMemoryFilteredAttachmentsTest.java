package dev.egress.testkit;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** The in-memory enforcer passes the DNS filter's conformance kit. */
class InMemoryFilteredAttachmentsTest extends FilteredAttachmentsContract {

  @Override
  protected Harness newHarness() {
    return new FilterHarness();
  }

  private static final class FilterHarness implements Harness {
    private static final InetAddress FILTER = IpAddresses.parse("10.200.0.1");
    private final SteppedClock clock = new SteppedClock();
    private final InMemoryEgressEnforcer enforcer =
        InMemoryEgressEnforcer.builder()
            .resolver(new FakeNameResolver())
            .clock(clock)
            .dnsFilter(FILTER)
            .build();
    private int containers;

    @Override
    public InMemoryEgressEnforcer enforcer() {
      return enforcer;
    }

    @Override
    public InMemoryEgressEnforcer attachments() {
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
      return enforcer.wouldAllow(container.addresses().get(0), flow);
    }

    @Override
    public void failNextKernelUpdate() {
      enforcer.failNextOperations(1);
    }

    @Override
    public void close() {
      enforcer.close();
    }
  }
}
