package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.LabRequirement;
import dev.egress.testkit.SteppedClock;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The nftables enforcer's side of a DNS filter against the real kernel, in a {@link NetnsLab}: the
 * grants as set elements with a timeout, and the redirect of port-53 traffic. The lab's DNS server
 * {@link NetnsLab#dnsServer()} stands in for the filter (the redirect target); the filter itself is
 * not run here.
 */
class NftFilterKernelTest {
  private static final InetAddress FILTER = NetnsLab.dnsServer();
  private static final HostName ASKED = HostName.of("img.cdn.example");
  private static final String FILTERED =
      "allow *.cdn.example port 443\nallow db.unresolved.test port 5432\ndns filter\n";
  private static NetnsLab lab;

  @BeforeAll
  static void startLab() throws Exception {
    lab = LabRequirement.startLab(2, "nft", "conntrack");
  }

  @AfterAll
  static void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @AfterEach
  void clearTable() throws Exception {
    NftBackend backend = NftBackendKernelTest.backendFor(lab);
    for (Map.Entry<RuleSetName, List<InetAddress>> installed : backend.installed().entrySet()) {
      backend.remove(installed.getKey(), installed.getValue());
    }
  }

  private static NftEgressEnforcer newEnforcer() {
    return LabNft.enforcer(lab)
        .resolver(lab.names())
        .guard(LabNft.guard(lab))
        .dnsFilter(FILTER)
        .noHealthChecks()
        .build();
  }

  private static EgressPolicy policy(String text) throws Exception {
    return PolicyText.parse(text, "test");
  }

  @Test
  void aGrant_opensItsNamesSetOnItsPortsOnly_untilItTimesOut_andIsNoDrift() throws Exception {
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = newEnforcer()) {
      enforcer.attach(c1.endpoint(), policy(FILTERED));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 443));

      enforcer.grant(
          c1.id(), ASKED, Set.of(NetnsLab.web(0), NetnsLab.webV6(0)), Instant.now().plusSeconds(3));

      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.webV6(0), 443));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 5432), "another name's port");
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443), "an address not granted");
      assertEquals(List.of(), enforcer.checkHealth(), "grants are no drift");

      Thread.sleep(3_500);
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 443), "the element timed out");
      assertEquals(List.of(), enforcer.checkHealth(), "nor are grants that ended");
      assertEquals(
          Optional.empty(), enforcer.grantedUntil(c1.id(), ASKED, Set.of(NetnsLab.web(0))));
    }
  }

  /**
   * The renewal the backend chose for this kernel ({@link TimeoutRenewal#ofRunningKernel}: one add
   * from Linux 6.12 on) gives an element it holds the later end of a renewed grant, whether the
   * renewal's timeout is longer or the same (which the kernel ignores on an add without an
   * expiration), and no later end. The enforcer's clock stands still between steps, so that the
   * renewal's timeout is the first one's to the millisecond.
   */
  @Test
  void aRenewedGrant_endsAtItsOwnEnd_withThisKernelsRenewal() throws Exception {
    LabContainer c1 = lab.container(1);
    String renewal =
        "renewed with "
            + TimeoutRenewal.ofRunningKernel()
            + " on "
            + System.getProperty("os.version");
    SteppedClock clock = new SteppedClock(Instant.now());
    try (NftEgressEnforcer enforcer =
        LabNft.enforcer(lab)
            .resolver(lab.names())
            .guard(LabNft.guard(lab))
            .dnsFilter(FILTER)
            .noHealthChecks()
            .clock(clock)
            .build()) {
      enforcer.attach(c1.endpoint(), policy(FILTERED));
      long start = System.nanoTime();
      Instant first = clock.instant();
      enforcer.grant(c1.id(), ASKED, Set.of(NetnsLab.web(0)), first.plusSeconds(2));
      enforcer.grant(c1.id(), ASKED, Set.of(NetnsLab.web(0)), first.plusSeconds(60));
      enforcer.grant(c1.id(), ASKED, Set.of(NetnsLab.web(1)), first.plusSeconds(2));
      sleepUntil(start, 1_000);
      clock.advance(Duration.ofSeconds(1));
      // The same timeout again, one second later: the element must end one second later too.
      enforcer.grant(c1.id(), ASKED, Set.of(NetnsLab.web(1)), clock.instant().plusSeconds(2));

      sleepUntil(start, 2_500);
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443), "a longer timeout: " + renewal);
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(1), 443), "the same timeout: " + renewal);
      sleepUntil(start, 3_600);
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(1), 443), "ended at the renewal's end");
    }
  }

  private static void sleepUntil(long start, long millis) throws InterruptedException {
    long left = millis - (System.nanoTime() - start) / 1_000_000;
    if (left > 0) {
      Thread.sleep(left);
    }
  }

  @Test
  void grants_surviveAReinstallAndAnUpdateThatKeepsTheirName_andGoWithDetach() throws Exception {
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = newEnforcer()) {
      Attachment attachment = enforcer.attach(c1.endpoint(), policy(FILTERED));
      enforcer.grant(c1.id(), ASKED, Set.of(NetnsLab.web(0)), Instant.now().plusSeconds(60));

      lab.exec(
          lab.hostNamespace(),
          "nft",
          "flush",
          "chain",
          "inet",
          "egress",
          ChainName.forContainer(c1.id()).value());
      assertEquals(1, enforcer.checkHealth().size(), "the flushed rule set is reinstalled");
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443), "with its grant");

      attachment.update(policy("allow *.cdn.example port 443\ndns filter\n"));
      assertEquals(Outcome.REACHED, c1.tcp(NetnsLab.web(0), 443));

      attachment.detach();
      enforcer.attach(c1.endpoint(), policy(FILTERED));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 443), "a new attachment inherits none");
    }
  }

  @Test
  void port53ToAnyResolver_isRedirectedToTheFilter_onlyUnderDnsFilter() throws Exception {
    LabContainer c1 = lab.container(1);
    LabContainer c2 = lab.container(2);
    lab.names().set("api.example.test", Duration.ofSeconds(30), NetnsLab.web(0));
    try (NftEgressEnforcer enforcer = newEnforcer()) {
      Attachment filtered = enforcer.attach(c1.endpoint(), policy(FILTERED));
      enforcer.attach(c2.endpoint(), policy("allow api.example.test port 5432\ndns none\n"));

      assertEquals(Outcome.REACHED, c1.dnsQuery(FILTER, "api.example.test"));
      assertEquals(
          Outcome.REACHED,
          c1.dnsQuery(NetnsLab.otherDnsServer(), "api.example.test"),
          "another resolver's address reaches the filter");
      assertNotEquals(Outcome.REACHED, c2.dnsQuery(NetnsLab.otherDnsServer(), "api.example.test"));
      assertNotEquals(Outcome.REACHED, c2.dnsQuery(FILTER, "api.example.test"));

      filtered.update(policy("allow api.example.test port 5432\ndns none\n"));
      assertNotEquals(
          Outcome.REACHED,
          c1.dnsQuery(NetnsLab.otherDnsServer(), "api.example.test"),
          "no redirect once the policy stops filtering");
    }
  }

  @Test
  void aGrantForANameThePolicyDoesNotCover_changesNothing() throws Exception {
    LabContainer c1 = lab.container(1);
    try (NftEgressEnforcer enforcer = newEnforcer()) {
      enforcer.attach(c1.endpoint(), policy(FILTERED));

      assertThrows(
          EgressException.class,
          () ->
              enforcer.grant(
                  c1.id(),
                  HostName.of("cdn.example"),
                  Set.of(NetnsLab.web(0)),
                  Instant.now().plusSeconds(60)));
      assertEquals(Outcome.REFUSED, c1.tcp(NetnsLab.web(0), 443));
    }
  }

  @Test
  void withoutAFilter_dnsFilterIsRefused_withTheEnforcersName() {
    try (NftEgressEnforcer plain =
        LabNft.enforcer(lab).resolver(lab.names()).guard(LabNft.guard(lab)).build()) {
      EgressException refused =
          assertThrows(
              EgressException.class,
              () -> plain.attach(lab.container(1).endpoint(), policy(FILTERED)));
      assertTrue(refused.getMessage().contains("the nftables enforcer"), refused.getMessage());
    }
  }
}
