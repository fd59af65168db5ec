package dev.egress.pf;

import static dev.egress.pf.PfFixture.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.TableName;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.PolicyText;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import dev.egress.process.ProcessTimeoutException;
import dev.egress.testkit.SteppedClock;
import dev.egress.testkit.pf.FakePfctl;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a DNS filter's grant costs in pfctl calls, and what it leaves in pf. */
class PfGrantTest {
  private static final InetAddress FILTER = ip("192.168.70.1");
  private static final String ANCHOR = "com.apple/000.egress/box";
  private static final ContainerEndpoint BOX =
      new ContainerEndpoint(ContainerId.of("box"), List.of(ip("192.168.70.5")), FILTER);
  private static final InetAddress CDN = ip("198.51.100.7");

  private final PfFixture pf = new PfFixture();
  private final SteppedClock clock = new SteppedClock();
  private final PfEgressEnforcer enforcer = enforcer(pf.fake);

  /**
   * An enforcer with the DNS filter, on the test clock and scheduler, that runs pfctl by {@code
   * runner}.
   */
  private PfEgressEnforcer enforcer(ProcessRunner runner) {
    return PfEgressEnforcer.builder()
        .resolver(pf.resolver)
        .processRunner(runner)
        .parentAnchor(PfFixture.PARENT)
        .clock(clock)
        .scheduler(pf.scheduler)
        .retryDelay(Duration.ofHours(1))
        .noHealthChecks()
        .dnsFilter(FILTER)
        .build();
  }

  @AfterEach
  void close() {
    enforcer.close();
    assertEquals(List.of(), pf.fake.refusedCalls(), "the enforcer ran a forbidden pfctl command");
  }

  private void attach(String policy) throws Exception {
    enforcer.attach(BOX, PolicyText.parse(policy, "test"));
    pf.fake.clearCalls();
  }

  private Instant inAMinute() {
    return clock.instant().plusSeconds(60);
  }

  private Set<String> table(String name) {
    return pf.fake
        .anchor(ANCHOR)
        .orElseThrow()
        .tables()
        .get(TableName.forHostName(HostName.of(name)).value());
  }

  @Test
  void aGrantToOneName_isOneTableAdd_ofItsNewAddressesOnly() throws Exception {
    attach("allow *.cdn.example port 443\ndns filter\n");

    enforcer.grant(BOX.id(), HostName.of("img.cdn.example"), Set.of(CDN), inAMinute());
    enforcer.grant(BOX.id(), HostName.of("js.cdn.example"), Set.of(CDN), inAMinute());

    assertEquals(
        List.of(
            "-a "
                + ANCHOR
                + " -t "
                + TableName.forHostName(HostName.of("*.cdn.example"))
                + " -T add 198.51.100.7"),
        pf.fake.calls().stream().map(FakePfctl.Call::line).toList(),
        "the second grant found the address in the table: no call");
    assertTrue(pf.passes(BOX.addresses().get(0), Flow.tcp(CDN, 443)));
    assertFalse(pf.passes(BOX.addresses().get(0), Flow.tcp(CDN, 80)));
  }

  @Test
  void aTableAddThatTimedOutAfterCommitting_isAGrant_whileAnEndedGrantAwaitsItsRevoke()
      throws Exception {
    // The next -T add commits, then pfctl is killed at its timeout: what pf holds is read back.
    AtomicBoolean timeOutNextAdd = new AtomicBoolean();
    ProcessRunner timingOut =
        command -> {
          ProcessResult result = pf.fake.run(command);
          if (command.argv().contains("add") && timeOutNextAdd.getAndSet(false)) {
            throw new ProcessTimeoutException(command, Duration.ofSeconds(10));
          }
          return result;
        };
    InetAddress later = ip("198.51.100.8");
    try (PfEgressEnforcer slow = enforcer(timingOut)) {
      slow.attach(BOX, PolicyText.parse("allow *.cdn.example port 443\ndns filter\n", "test"));
      slow.grant(BOX.id(), HostName.of("img.cdn.example"), Set.of(CDN), inAMinute());
      clock.advance(Duration.ofMinutes(2)); // CDN's grant ended; its revoke has not run yet

      timeOutNextAdd.set(true);
      slow.grant(BOX.id(), HostName.of("js.cdn.example"), Set.of(later), inAMinute());

      assertTrue(
          slow.grantedUntil(BOX.id(), HostName.of("js.cdn.example"), Set.of(later)).isPresent(),
          "the committed add is a grant, although the table also holds the ended one");
      assertTrue(pf.passes(BOX.addresses().get(0), Flow.tcp(later, 443)));
    }
  }

  @Test
  void aGrantWhoseCommitCannotBeReadBack_fails_andWhatItAddedIsTakenOutAgain() throws Exception {
    // The -T add commits, pfctl is killed at its timeout, and the read-back fails too.
    AtomicBoolean lost = new AtomicBoolean();
    ProcessRunner losing =
        command -> {
          if (lost.get() && command.argv().contains("show")) {
            return new ProcessResult(1, "", "pfctl: Operation not permitted.\n");
          }
          ProcessResult result = pf.fake.run(command);
          if (lost.get() && command.argv().contains("add")) {
            throw new ProcessTimeoutException(command, Duration.ofSeconds(10));
          }
          return result;
        };
    try (PfEgressEnforcer lossy = enforcer(losing)) {
      lossy.attach(BOX, PolicyText.parse("allow *.cdn.example port 443\ndns filter\n", "test"));
      lost.set(true);

      assertThrows(
          EgressException.class,
          () -> lossy.grant(BOX.id(), HostName.of("img.cdn.example"), Set.of(CDN), inAMinute()));

      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (!table("*.cdn.example").isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(Set.of(), table("*.cdn.example"), "the committed add is revoked, not left");
    }
  }

  @Test
  void closingTheEnforcer_takesItsGrantsOut_sinceNothingWouldRevokeThemLater() throws Exception {
    attach("allow *.cdn.example port 443\ndns filter\n");
    enforcer.grant(BOX.id(), HostName.of("img.cdn.example"), Set.of(CDN), inAMinute());
    assertTrue(pf.passes(BOX.addresses().get(0), Flow.tcp(CDN, 443)));

    enforcer.close();

    assertEquals(Set.of(), table("*.cdn.example"), "the anchor stays; its grants do not");
    assertFalse(pf.passes(BOX.addresses().get(0), Flow.tcp(CDN, 443)));
  }

  @Test
  void moreAddressesThanOneTableCommandTakes_areGranted_andTakenOutAtClose() throws Exception {
    // A burst of answers under one wildcard whose grants end together: -T takes 256 at most.
    attach("allow *.cdn.example port 443\ndns filter\n");
    Set<InetAddress> many = new HashSet<>();
    for (int i = 0; i < Pfctl.MAX_TABLE_ADDRESSES + 44; i++) {
      many.add(InetAddress.getByAddress(new byte[] {(byte) 198, 18, (byte) (i >> 8), (byte) i}));
    }

    enforcer.grant(BOX.id(), HostName.of("img.cdn.example"), many, inAMinute());
    assertEquals(many.size(), table("*.cdn.example").size());

    enforcer.close();

    assertEquals(Set.of(), table("*.cdn.example"), "every grant taken out, not only 256");
  }

  @Test
  void aGrantToANameWhosePortsAnyAddressReaches_changesNothingInPf() throws Exception {
    attach("allow *.cdn.example port 443\nallow unsafe-any-address port 443\ndns filter\n");

    enforcer.grant(BOX.id(), HostName.of("img.cdn.example"), Set.of(CDN), inAMinute());

    assertEquals(List.of(), pf.fake.calls(), "no table to add to, no call");
    assertTrue(pf.passes(BOX.addresses().get(0), Flow.tcp(CDN, 443)));
    assertFalse(pf.passes(BOX.addresses().get(0), Flow.tcp(CDN, 80)));
  }

  @Test
  void aGrantToTwoNames_isOneReloadOfTheAnchor_holdingBoth() throws Exception {
    attach("allow *.cdn.example port 443\nallow img.cdn.example port 8443\ndns filter\n");

    enforcer.grant(BOX.id(), HostName.of("img.cdn.example"), Set.of(CDN), inAMinute());

    assertEquals(
        List.of("-a " + ANCHOR + " -f -"),
        pf.fake.calls().stream().map(FakePfctl.Call::line).toList());
    assertEquals(Set.of("198.51.100.7"), table("*.cdn.example"));
    assertEquals(Set.of("198.51.100.7"), table("img.cdn.example"));
    assertTrue(pf.passes(BOX.addresses().get(0), Flow.tcp(CDN, 8443)));
  }

  @Test
  void aFailedGrantToTwoNames_leavesBothTablesAsTheyWere() throws Exception {
    attach("allow *.cdn.example port 443\nallow img.cdn.example port 8443\ndns filter\n");
    pf.fake.failOn(" -f -", 1, 1, "pfctl: Cannot allocate memory.\n");

    assertThrows(
        EgressException.class,
        () -> enforcer.grant(BOX.id(), HostName.of("img.cdn.example"), Set.of(CDN), inAMinute()));

    assertEquals(Set.of(), table("*.cdn.example"));
    assertEquals(Set.of(), table("img.cdn.example"));
    assertFalse(pf.passes(BOX.addresses().get(0), Flow.tcp(CDN, 443)));
  }

  @Test
  void aGrantOfAResolvedAddress_changesNothing_andTheHealthCheckSeesNoDrift() throws Exception {
    pf.resolver.answer("api.example.com", Set.of(CDN));
    attach("allow api.example.com port 443\ndns filter\n");

    enforcer.grant(BOX.id(), HostName.of("api.example.com"), Set.of(CDN), inAMinute());
    enforcer.grant(
        BOX.id(), HostName.of("api.example.com"), Set.of(ip("203.0.113.9")), inAMinute());

    assertEquals(1, pf.fake.calls().size(), pf.fake.calls().toString());
    assertEquals(List.of(), enforcer.checkHealth());
    assertEquals(
        1,
        pf.fake.calls().stream().filter(c -> c.line().contains(" -T add ")).count(),
        "no reinstall: grants in the tables are what the plan holds");
  }
}
