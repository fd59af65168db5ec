package dev.egress.pf;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.FilteredAttachmentsContract;
import dev.egress.testkit.SteppedClock;
import dev.egress.testkit.pf.FakePfctl;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The pf enforcer built with a DNS filter passes the filter's conformance kit over FakePfctl: a
 * flow is allowed when pf passes it to where it was sent (a redirected DNS query reaches the
 * filter, not the resolver it was sent to). pf keeps no per-entry end in its tables, so the
 * lifecycle revokes ended grants on its scheduler; here that scheduler looks again every few
 * milliseconds, and moving the clock waits for it.
 */
class PfFilteredAttachmentsTest extends FilteredAttachmentsContract {
  private static final InetAddress FILTER = IpAddresses.parse("192.168.70.1");

  /** Runs every task soon, whatever its delay: a revoke not yet due looks again on the clock. */
  private static final class Eager extends ScheduledThreadPoolExecutor {
    Eager() {
      super(1);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      return super.schedule(command, Math.min(unit.toMillis(delay), 5), TimeUnit.MILLISECONDS);
    }
  }

  @Override
  protected Harness newHarness() throws Exception {
    FakePfctl fake = new FakePfctl();
    SteppedClock clock = new SteppedClock();
    Eager scheduler = new Eager();
    PfEgressEnforcer enforcer =
        PfEgressEnforcer.builder()
            .resolver(new FakeNameResolver())
            .processRunner(fake)
            .parentAnchor(PfFixture.PARENT)
            .clock(clock)
            .scheduler(scheduler)
            .retryDelay(Duration.ofMillis(5))
            .noHealthChecks()
            .dnsFilter(FILTER)
            .build();
    enforcer.reconcile(Set.of());
    return new Harness() {
      private int containers;

      @Override
      public PfEgressEnforcer enforcer() {
        return enforcer;
      }

      @Override
      public PfEgressEnforcer attachments() {
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
            ContainerId.of("box-" + n), List.of(IpAddresses.parse("192.168.70." + n)), FILTER);
      }

      @Override
      public Instant now() {
        return clock.instant();
      }

      @Override
      public void advance(Duration duration) throws InterruptedException {
        clock.advance(duration);
        Thread.sleep(200); // the scheduler looks every 5 ms: time for a due revoke to run
      }

      @Override
      public boolean allows(ContainerEndpoint container, Flow flow) {
        return fake.delivers(
            PfFixture.PARENT.path().value(), PfFixture.packet(container.addresses().get(0), flow));
      }

      @Override
      public void failNextKernelUpdate() {
        fake.failOn(" -T add ", 1, 1, "pfctl: Cannot allocate memory.\n");
      }

      @Override
      public void close() {
        enforcer.close();
        scheduler.shutdownNow();
      }
    };
  }
}
