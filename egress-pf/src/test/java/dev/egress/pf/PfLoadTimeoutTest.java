package dev.egress.pf;

import static dev.egress.pf.PfFixture.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.pf.pfctl.PfctlException;
import dev.egress.policy.Destination;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.ProcessTimeoutException;
import dev.egress.testkit.pf.FakePfctl;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 18, C2 on pf: a load that timed out (pfctl killed) may have committed before it died. What
 * pf holds is read back before anyone is told: a committed load is a success, one that did not
 * commit says so, and a read-back that fails says that nobody knows.
 */
class PfLoadTimeoutTest {
  private static final InetAddress GATEWAY = ip("192.168.70.1");
  private static final InetAddress API_1 = ip("198.51.100.1");
  private static final InetAddress API_2 = ip("198.51.100.2");
  private static final ContainerEndpoint C1 =
      new ContainerEndpoint(ContainerId.of("c1"), List.of(ip("192.168.70.10")), GATEWAY);

  /** Runs calls on the fake, except that the next call matching {@link #match} times out. */
  private final class TimingOut implements ProcessRunner {
    private String match = "";
    private boolean commitFirst;
    private String failAfter = "";

    /**
     * The next call containing {@code line} is killed at its timeout, after taking effect or not.
     */
    void next(String line, boolean commit) {
      match = line;
      commitFirst = commit;
    }

    /** The call after the timed-out one (the read-back) fails. */
    void thenFailReadBack() {
      failAfter = "-s rules";
    }

    @Override
    public ProcessResult run(Command command) throws ProcessTimeoutException {
      String line = String.join(" ", command.argv().subList(1, command.argv().size()));
      if (!match.isEmpty() && line.contains(match)) {
        match = "";
        if (commitFirst) {
          pf.fake.run(command);
        }
        throw new ProcessTimeoutException(command, Duration.ofSeconds(10));
      }
      if (!failAfter.isEmpty() && line.contains(failAfter)) {
        failAfter = "";
        return new ProcessResult(1, "", "pfctl: DIOCGETRULES: Device busy\n");
      }
      return pf.fake.run(command);
    }
  }

  private final PfFixture pf = new PfFixture();
  private final TimingOut runner = new TimingOut();
  private final PfEgressEnforcer enforcer = pf.enforcer(runner, List.of("/sbin/pfctl"));

  @AfterEach
  void close() {
    enforcer.close();
    assertEquals(List.of(), pf.fake.refusedCalls());
    pf.close();
  }

  private static EgressPolicy policy(int port) {
    return EgressPolicy.builder().allowTcp(Destination.host("api.example.com"), port).build();
  }

  private boolean passes(int port) {
    return pf.passes(ip("192.168.70.10"), Flow.tcp(API_1, port));
  }

  /** The first attach loads the parent, then the container's anchor: either may time out. */
  @ParameterizedTest
  @CsvSource({
    "-a com.apple/000.egress/c1 -f -, -a com.apple/000.egress/c1 -s rules",
    "-a com.apple/000.egress -f -, -a com.apple/000.egress -s rules"
  })
  void attach_whoseLoadTimedOutAfterCommitting_succeeds(String load, String readBack)
      throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    runner.next(load, true);

    enforcer.attach(C1, policy(443));

    assertTrue(passes(443));
    assertTrue(pf.callLines().contains(readBack), "read back: " + pf.callLines());
    assertFalse(pf.callLines().contains("-a com.apple/000.egress/c1 -F all"), "nothing removed");
  }

  @Test
  void attach_whoseLoadTimedOutBeforeCommitting_failsSayingSo_andLeavesNothing() {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    runner.next("-a com.apple/000.egress/c1 -f -", false);

    PfctlException e = assertThrows(PfctlException.class, () -> enforcer.attach(C1, policy(443)));

    assertTrue(e.getMessage().contains("so the load did not commit"), e.getMessage());
    assertFalse(passes(443));
    assertTrue(
        pf.fake.anchor("com.apple/000.egress/c1").map(FakePfctl.Anchor::isEmpty).orElse(true));
  }

  @Test
  void update_whoseLoadTimedOut_reportsWhatPfHolds() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    Attachment attachment = enforcer.attach(C1, policy(443));

    runner.next("-a com.apple/000.egress/c1 -f -", false);
    PfctlException notCommitted =
        assertThrows(PfctlException.class, () -> attachment.update(policy(8443)));
    assertTrue(notCommitted.getMessage().contains("did not commit"), notCommitted.getMessage());
    assertTrue(passes(443) && !passes(8443), "the previous policy is still in force");

    runner.next("-a com.apple/000.egress/c1 -f -", true);
    attachment.update(policy(8443));
    assertTrue(passes(8443) && !passes(443), "the new policy committed and is reported so");
    assertEquals(policy(8443), attachment.policy());
  }

  @Test
  void load_whoseReadBackFailsToo_saysNobodyKnowsWhetherItCommitted() {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    runner.next("-a com.apple/000.egress/c1 -f -", true);
    runner.thenFailReadBack();

    PfctlException e = assertThrows(PfctlException.class, () -> enforcer.attach(C1, policy(443)));

    assertTrue(e.getMessage().contains("whether the load committed is unknown"), e.getMessage());
    assertTrue(e.getMessage().contains("Device busy"), e.getMessage());
  }

  @Test
  void refresh_whoseTableReplaceTimedOutAfterCommitting_isDone() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(API_1));
    enforcer.attach(C1, policy(443));
    pf.fake.clearCalls();

    runner.next("-T replace", true);
    pf.resolver.change("api.example.com", Set.of(API_2));

    assertEquals(
        List.of(
            "-a com.apple/000.egress/c1 -t tcp_443 -T replace -f -",
            "-a com.apple/000.egress/c1 -t tcp_443 -T show"),
        pf.callLines(),
        "read back, and no reinstall");
    assertTrue(pf.passes(ip("192.168.70.10"), Flow.tcp(API_2, 443)));
  }
}
