package dev.egress.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.SteppedClock;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** How the lifecycle keeps a DNS filter's grants: with the rule set, and apart from drift. */
class RulesetEnforcerGrantTest {
  private static final InetAddress FILTER = IpAddresses.parse("10.200.0.1");
  private static final InetAddress ADDRESS = IpAddresses.parse("192.0.2.10");
  private static final InetAddress OTHER = IpAddresses.parse("192.0.2.11");
  private static final HostName WILDCARD = HostName.of("*.cdn.example");
  private static final HostName ASKED = HostName.of("img.cdn.example");
  private static final ContainerEndpoint BOX =
      new ContainerEndpoint(
          ContainerId.of("box"), List.of(IpAddresses.parse("10.200.0.2")), FILTER);
  private static final String POLICY = "allow *.cdn.example port 443\ndns filter\n";

  private final SteppedClock clock = new SteppedClock();
  private final List<EgressEvent> events = new CopyOnWriteArrayList<>();

  private RulesetEnforcer enforcer(FakeBackend backend) {
    backend.clock(clock);
    return RulesetEnforcer.builder(backend)
        .resolver(new FakeNameResolver())
        .clock(clock)
        .listener(events::add)
        .dnsFilter(FILTER)
        .retryDelay(Duration.ofMillis(20))
        .noHealthChecks()
        .build();
  }

  private static EgressPolicy policy(String text) throws Exception {
    return PolicyText.parse(text, "test");
  }

  private static boolean allows(FakeBackend backend) {
    return backend.allows(BOX.addresses().get(0), Flow.tcp(ADDRESS, 443));
  }

  @Test
  void withoutAFilter_dnsFilterAndWildcardsAreRefused_withAHint() throws Exception {
    try (RulesetEnforcer plain =
        RulesetEnforcer.builder(new FakeBackend())
            .resolver(new FakeNameResolver())
            .noHealthChecks()
            .build()) {
      for (String text : List.of("dns filter\n", "allow *.cdn.example port 443\ndns none\n")) {
        UnsupportedPolicyException e =
            assertThrows(UnsupportedPolicyException.class, () -> plain.attach(BOX, policy(text)));
        assertTrue(e.hint().contains("DNS filter"), e.hint());
      }
      assertEquals(Optional.empty(), plain.bySource(BOX.addresses().get(0)));
    }
  }

  @Test
  void theHealthCheck_seesNoDriftInGrants_andKeepsThemWhenItReinstalls() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusSeconds(60));

      assertEquals(List.of(), enforcer.checkHealth(), "a grant is no drift");
      clock.advance(Duration.ofSeconds(30));
      assertEquals(List.of(), enforcer.checkHealth(), "nor half way through");

      backend.wipe("c-box");
      assertEquals(1, enforcer.checkHealth().size());
      assertTrue(allows(backend), "the reinstall put the grant back");
      clock.advance(Duration.ofSeconds(30));
      assertFalse(allows(backend));
      assertEquals(List.of(), enforcer.checkHealth(), "an ended grant is no drift either");
    }
  }

  @Test
  void aRestartedEnforcer_keepsTheGrantsTheKernelHolds_untilTheirEnd() throws Exception {
    FakeBackend backend = new FakeBackend();
    Instant until = clock.instant().plusSeconds(60);
    try (RulesetEnforcer before = enforcer(backend)) {
      before.attach(BOX, policy(POLICY));
      before.grant(BOX.id(), ASKED, Set.of(ADDRESS), until);
    } // the process ends; its rules stay

    try (RulesetEnforcer after = enforcer(backend)) {
      after.attach(BOX, policy(POLICY)); // taken over, as egressd does at its start

      assertTrue(allows(backend), "the reinstalled rule set still holds the grant");
      assertEquals(
          Optional.of(until), after.grantedUntil(BOX.id(), ASKED, Set.of(ADDRESS)), "and knows it");
      assertEquals(List.of(), after.checkHealth(), "a grant taken over is no drift");
      clock.advance(Duration.ofSeconds(60));
      assertFalse(allows(backend), "it ends when it would have");
      assertEquals(Optional.empty(), after.grantedUntil(BOX.id(), ASKED, Set.of(ADDRESS)));
      after.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusSeconds(60));
      assertTrue(allows(backend), "and a new answer grants it again");
    }
  }

  @Test
  void aRestartedEnforcer_keepsNoGrant_underAnotherPolicy() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer before = enforcer(backend)) {
      before.attach(BOX, policy(POLICY));
      before.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusSeconds(60));
    }

    try (RulesetEnforcer after = enforcer(backend)) {
      after.attach(
          BOX,
          policy("allow *.cdn.example port 443\nallow api.example port 443\n" + "dns filter\n"));

      assertFalse(allows(backend), "granted under another policy: dropped");
      assertEquals(Optional.empty(), after.grantedUntil(BOX.id(), ASKED, Set.of(ADDRESS)));
    }
  }

  /**
   * Two names whose lines open the same port: a kernel with one set per container cannot tell which
   * was granted the address, and credits both.
   */
  private static final String TWO_NAMES =
      "allow *.cdn.example port 443\nallow api.example port 443\ndns filter\n";

  private RulesetEnforcer restartedAfterAGrantTo(FakeBackend backend, HostName asked)
      throws Exception {
    try (RulesetEnforcer before = enforcer(backend)) {
      before.attach(BOX, policy(TWO_NAMES));
      before.grant(BOX.id(), asked, Set.of(ADDRESS), clock.instant().plusSeconds(60));
    }
    backend.creditEveryName(true);
    RulesetEnforcer after = enforcer(backend);
    after.attach(BOX, policy(TWO_NAMES));
    assertTrue(allows(backend), "taken over");
    return after;
  }

  @Test
  void aGrantTakenOver_isDroppedByAnUpdate_forItMayHaveBeenAnotherNames() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer after = restartedAfterAGrantTo(backend, ASKED)) {
      after.attach(BOX, policy("allow api.example port 443\ndns filter\n")); // an update

      assertFalse(allows(backend), "granted to *.cdn.example, which the new policy lacks");
    }
  }

  @Test
  void aGrantTakenOver_andAnsweredAgain_isKeptByAnUpdate_asAnyGrant() throws Exception {
    FakeBackend backend = new FakeBackend();
    HostName api = HostName.of("api.example");
    try (RulesetEnforcer after = restartedAfterAGrantTo(backend, api)) {
      after.grant(BOX.id(), api, Set.of(ADDRESS), clock.instant().plusSeconds(120)); // written

      after.attach(BOX, policy("allow api.example port 443\ndns filter\n")); // an update

      assertTrue(allows(backend), "api.example's answer: kept, as an update keeps its grants");
    }
  }

  @Test
  void aGrantTakenOver_isNotConfirmedByAShorterAnswer_whichWritesNothing() throws Exception {
    FakeBackend backend = new FakeBackend();
    HostName api = HostName.of("api.example");
    try (RulesetEnforcer after = restartedAfterAGrantTo(backend, ASKED)) {
      // Taken over until +60 s; api.example's answer lasts 30 s: nothing to write for ADDRESS.
      after.grant(BOX.id(), api, Set.of(ADDRESS, OTHER), clock.instant().plusSeconds(30));

      after.attach(BOX, policy("allow api.example port 443\ndns filter\n")); // an update

      assertFalse(allows(backend), "the longer grant was *.cdn.example's, which is gone");
      assertTrue(
          backend.allows(BOX.addresses().get(0), Flow.tcp(OTHER, 443)), "the answer's own stays");
    }
  }

  @Test
  void aGrantTakenOver_isNotConfirmedByAnAnswerWhoseGrantFailed() throws Exception {
    FakeBackend backend = new FakeBackend();
    HostName api = HostName.of("api.example");
    try (RulesetEnforcer after = restartedAfterAGrantTo(backend, ASKED)) {
      backend.failNext(1);
      assertThrows(
          EgressException.class,
          () -> after.grant(BOX.id(), api, Set.of(ADDRESS), clock.instant().plusSeconds(120)));

      after.attach(BOX, policy("allow api.example port 443\ndns filter\n")); // an update

      assertFalse(allows(backend));
    }
  }

  @Test
  void aGrantTakenOver_staysThroughAnUpdateToTheSamePolicy() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer after = restartedAfterAGrantTo(backend, ASKED)) {
      after.attach(BOX, policy(TWO_NAMES)); // a client attaching again after the restart

      assertTrue(allows(backend), "the same policy: the same elements");
      after.attach(BOX, policy("allow api.example port 443\ndns filter\n"));
      assertFalse(allows(backend), "and is still dropped by another");
    }
  }

  @Test
  void aRestartedEnforcer_thatCannotReadTheKernel_keepsNoGrant_andAttaches() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer before = enforcer(backend)) {
      before.attach(BOX, policy(POLICY));
      before.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusSeconds(60));
    }
    backend.failReads(true);

    try (RulesetEnforcer after = enforcer(backend)) {
      after.attach(BOX, policy(POLICY));

      assertTrue(backend.calls.contains("read grants c-box"), backend.calls.toString());
      assertFalse(allows(backend), "what could not be read is dropped: less network, not more");
      assertEquals(Optional.empty(), after.grantedUntil(BOX.id(), ASKED, Set.of(ADDRESS)));
    }
  }

  @Test
  void aGrantAlreadyHeldAsLong_needsNoKernelCall() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      Instant until = clock.instant().plusSeconds(60);
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), until);
      enforcer.grant(BOX.id(), HostName.of("other.cdn.example"), Set.of(ADDRESS), until);

      assertEquals(1, backend.count("grant"));
      assertEquals(
          Optional.of(until),
          enforcer.grantedUntil(BOX.id(), HostName.of("x.cdn.example"), Set.of(ADDRESS)));
    }
  }

  @Test
  void aKernelThatKeepsGrants_hasThemRevokedOnceTheyEnd() throws Exception {
    FakeBackend backend = new FakeBackend(false);
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusMillis(50));
      assertTrue(allows(backend));

      clock.advance(Duration.ofMillis(50));
      awaitRevoked(backend, ADDRESS);
      assertFalse(allows(backend));
      assertEquals(Set.of(), backend.granted("c-box", WILDCARD));
    }
  }

  @Test
  void aGrantAfterTheEnforcerClosed_isRefused_andNothingReachesTheKernel() throws Exception {
    // Nothing revokes a pf-style grant after close: a DNS filter still answering must get nothing.
    FakeBackend backend = new FakeBackend(false);
    RulesetEnforcer enforcer = enforcer(backend);
    enforcer.attach(BOX, policy(POLICY));
    enforcer.close();

    EgressException refused =
        assertThrows(
            EgressException.class,
            () ->
                enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusSeconds(60)));

    assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
    assertFalse(allows(backend));
    assertEquals(0, backend.count("grant"));
  }

  @Test
  void aRevokeThatFails_isRetried_andReported() throws Exception {
    FakeBackend backend = new FakeBackend(false);
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusMillis(50));
      backend.failNext(1);

      clock.advance(Duration.ofMillis(50));
      awaitRevoked(backend, ADDRESS);
      assertTrue(backend.count("revoke") >= 2, backend.calls.toString());
      assertTrue(
          events.stream()
              .anyMatch(
                  event ->
                      event instanceof EgressEvent.Failed failed
                          && failed.operation() == EgressEvent.Operation.GRANT),
          events.toString());
    }
  }

  @Test
  void anUpdateAwayFromDnsFilter_dropsTheGrants() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      var attachment = enforcer.attach(BOX, policy(POLICY));
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusSeconds(60));

      attachment.update(policy("allow 192.0.2.99 port 443\ndns none\n"));

      assertFalse(allows(backend));
      assertEquals(Optional.empty(), enforcer.grantedUntil(BOX.id(), ASKED, Set.of(ADDRESS)));
      assertEquals(Optional.empty(), enforcer.bySource(BOX.addresses().get(0)));
    }
  }

  @Test
  void aGrantThatFails_leavesTheRecordedGrantsAsTheyWere() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      Instant until = clock.instant().plusSeconds(60);
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), until);

      backend.failNext(2);
      assertThrows(
          EgressException.class,
          () -> enforcer.grant(BOX.id(), ASKED, Set.of(OTHER), clock.instant().plusSeconds(60)));
      assertThrows(
          EgressException.class,
          () -> enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), until.plusSeconds(60)));

      assertEquals(Optional.empty(), enforcer.grantedUntil(BOX.id(), ASKED, Set.of(OTHER)));
      assertEquals(Optional.of(until), enforcer.grantedUntil(BOX.id(), ASKED, Set.of(ADDRESS)));
      backend.wipe("c-box");
      assertEquals(1, enforcer.checkHealth().size());
      assertEquals(Set.of(ADDRESS), backend.granted("c-box", WILDCARD), "reinstalled as before");
    }
  }

  @Test
  void aRuleSetInstalledLater_holdsExactlyTheGrantsThatHaveNotEnded() throws Exception {
    FakeBackend backend = new FakeBackend();
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusSeconds(60));
      enforcer.grant(BOX.id(), ASKED, Set.of(OTHER), clock.instant().plusSeconds(10));
      clock.advance(Duration.ofSeconds(20));

      backend.wipe("c-box");
      assertEquals(1, enforcer.checkHealth().size());
      assertEquals(Set.of(ADDRESS), backend.granted("c-box", WILDCARD));
      assertEquals(Optional.empty(), enforcer.grantedUntil(BOX.id(), ASKED, Set.of(OTHER)));
    }
  }

  @Test
  void aKernelThatKeepsGrants_hasAGrantThatEndedBeforeTheNextGrant_revoked() throws Exception {
    FakeBackend backend = new FakeBackend(false);
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusMillis(300));
      clock.advance(Duration.ofMillis(400));
      // This grant finds the first one ended before the revoke scheduled for it has run.
      enforcer.grant(BOX.id(), ASKED, Set.of(OTHER), clock.instant().plusSeconds(60));

      awaitRevoked(backend, ADDRESS);
      assertEquals(Set.of(OTHER), backend.granted("c-box", WILDCARD));
    }
  }

  @Test
  void aKernelThatKeepsGrants_keepsAnAddressGrantedAgainAfterItsGrantEnded() throws Exception {
    FakeBackend backend = new FakeBackend(false);
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusMillis(100));
      clock.advance(Duration.ofMillis(200));
      Instant again = clock.instant().plusSeconds(60);
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), again);
      enforcer.grant(BOX.id(), ASKED, Set.of(OTHER), clock.instant().plusMillis(100));
      clock.advance(Duration.ofMillis(200));

      // The revoke scheduled for the second grant takes OTHER out, and leaves ADDRESS.
      awaitRevoked(backend, OTHER);
      assertEquals(Set.of(ADDRESS), backend.granted("c-box", WILDCARD), backend.calls.toString());
      assertTrue(allows(backend));
      assertEquals(Optional.of(again), enforcer.grantedUntil(BOX.id(), ASKED, Set.of(ADDRESS)));
    }
  }

  /**
   * A reinstall and an update put back no grant that has ended, whether or not the index of grants
   * by end took it out first: of many addresses (every slot of the grants' hash trie), none.
   */
  @Test
  void aRuleSetInstalledAfterManyGrantsEnded_holdsNoneOfThem() throws Exception {
    FakeBackend backend = new FakeBackend();
    Set<InetAddress> addresses = randomAddresses(300);
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      Attachment attachment = enforcer.attach(BOX, policy(POLICY));
      Instant end = clock.instant().plusSeconds(10);
      for (InetAddress address : addresses) {
        enforcer.grant(BOX.id(), ASKED, Set.of(address), end);
      }
      enforcer.grant(BOX.id(), ASKED, Set.of(ADDRESS), clock.instant().plusSeconds(60));
      clock.advance(Duration.ofSeconds(10));

      backend.wipe("c-box");
      assertEquals(1, enforcer.checkHealth().size());
      assertEquals(Set.of(ADDRESS), backend.granted("c-box", WILDCARD), "reinstalled");
      attachment.update(policy(POLICY + "allow 192.0.2.99 port 443\n"));
      assertEquals(Set.of(ADDRESS), backend.granted("c-box", WILDCARD), "updated");
    }
  }

  private static Set<InetAddress> randomAddresses(int count) throws Exception {
    Random random = new Random(13);
    Set<InetAddress> addresses = new HashSet<>();
    while (addresses.size() < count) {
      byte[] octets = new byte[4];
      random.nextBytes(octets);
      addresses.add(InetAddress.getByAddress(octets));
    }
    return addresses;
  }

  /**
   * Many addresses, whose hashes fill every slot of the grants' hash trie (slot 31 included, the
   * sign bit of its bitmaps): each one ended is revoked, and a reinstall holds none of them.
   */
  @Test
  void aKernelThatKeepsGrants_hasManyAddressesRevoked_andReinstalledWithoutThem() throws Exception {
    FakeBackend backend = new FakeBackend(false);
    Set<InetAddress> addresses = randomAddresses(300);
    try (RulesetEnforcer enforcer = enforcer(backend)) {
      enforcer.attach(BOX, policy(POLICY));
      Instant end = clock.instant().plusMillis(50);
      for (InetAddress address : addresses) {
        enforcer.grant(BOX.id(), ASKED, Set.of(address), end);
      }
      assertEquals(addresses, backend.granted("c-box", WILDCARD));
      for (InetAddress address : addresses) {
        assertEquals(
            Optional.of(end),
            enforcer.grantedUntil(BOX.id(), ASKED, Set.of(address)),
            "" + address);
      }

      clock.advance(Duration.ofMillis(50));
      for (InetAddress address : addresses) {
        awaitRevoked(backend, address);
        assertEquals(
            Optional.empty(),
            enforcer.grantedUntil(BOX.id(), ASKED, Set.of(address)),
            "" + address);
      }
      backend.wipe("c-box");
      assertEquals(1, enforcer.checkHealth().size());
      assertEquals(Set.of(), backend.granted("c-box", WILDCARD), "the reinstall holds none");
    }
  }

  private static void awaitRevoked(FakeBackend backend, InetAddress address)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (backend.granted("c-box", WILDCARD).contains(address)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the ended grant was not revoked within 5 s: " + backend.calls);
      }
      Thread.sleep(10);
    }
  }
}
