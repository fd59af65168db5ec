package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessTimeoutException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link NftBackend} runs to load and remove a rule set, what it says when nft is killed at
 * its timeout, and what its health check's memo compares again, over a scripted process runner (the
 * kernel suites show the same on real nft).
 */
class NftBackendLoadTest {
  private static final HostName API = HostName.of("api.example.test");
  private static final ContainerEndpoint AGENT =
      new ContainerEndpoint(
          ContainerId.of("agent"),
          List.of(IpAddresses.parse("10.77.0.2"), IpAddresses.parse("fd00:77::2")),
          IpAddresses.parse("10.77.0.1"));
  private static final ChainName CHAIN = ChainName.forContainer(AGENT.id());

  /** Each call: the command line, then its standard input if it has one. */
  private final List<String> calls = new ArrayList<>();

  /** What {@code nft list table} prints; empty means the table does not exist. */
  private String listing = "";

  /** Whether {@code nft -f} is killed at its timeout, and whether it fails. */
  private boolean loadsTimeOut;

  private String loadError = "";

  private NftBackend backend;

  @TempDir Path procNet;

  @BeforeEach
  void newBackend() throws IOException {
    // The agent lives on br0: both its networks are routed there directly.
    RoutesTest.write(
        procNet,
        RoutesTest.route4("br0", "10.77.0.0", "0.0.0.0", "0001", 0, "255.255.255.0"),
        "fd000077000000000000000000000000 40 00000000000000000000000000000000 00"
            + " 00000000000000000000000000000000 00000100 00000001 00000000 00000001 br0\n");
    backend =
        new NftBackend(
            new NftCommand(this::run, List.of("nft"), List.of("conntrack"), Duration.ofSeconds(1)),
            "egress",
            NftGuard.none(),
            procNet);
  }

  private ProcessResult run(Command command) throws IOException {
    List<String> argv = command.argv();
    if (!command.stdin().isEmpty()) {
      calls.add(String.join(" ", argv) + "\n" + command.stdin());
      if (argv.get(0).equals("nft") && loadsTimeOut) {
        throw new ProcessTimeoutException(command, Duration.ofSeconds(1));
      }
      if (argv.get(0).equals("nft") && !loadError.isEmpty()) {
        return new ProcessResult(1, "", loadError);
      }
      return new ProcessResult(0, "", "");
    }
    calls.add(String.join(" ", argv));
    if (listing.isEmpty()) {
      return new ProcessResult(1, "", "Error: No such file or directory\n");
    }
    return new ProcessResult(0, listing, "");
  }

  private static Rules rules() {
    EgressPolicy policy =
        EgressPolicy.builder()
            .allowTcp(Destination.host(API.ascii()), 443)
            .dns(DnsRule.none())
            .build();
    return new Rules(
        CHAIN,
        AGENT,
        policy,
        new Resolutions(Map.of(API, Set.of(IpAddresses.parse("10.99.0.10")))));
  }

  /** The table as nft lists it, holding the agent's rule set as {@link #rules} renders it. */
  private static String listingOf(String extraElements, String extraSets) {
    String chain = CHAIN.value();
    StringBuilder rules = new StringBuilder();
    for (String rule : rules().chainRules()) {
      rules.append("\t\t").append(rule).append('\n');
    }
    return "table inet egress {\n"
        + "\tset links {\n\t\ttype ifname\n\t\telements = { \"br0\" }\n\t}\n"
        + "\tmap src4 {\n\t\ttype ipv4_addr : verdict\n"
        + "\t\telements = { 10.77.0.2 : jump "
        + chain
        + extraElements
        + " }\n\t}\n"
        + "\tmap src6 {\n\t\ttype ipv6_addr : verdict\n"
        + "\t\telements = { fd00:77::2 : jump "
        + chain
        + " }\n\t}\n"
        + "\tset "
        + chain
        + "_4 {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\tflags interval,timeout\n"
        + "\t\telements = { 10.99.0.10 . tcp . 443 }\n\t}\n"
        + "\tset "
        + chain
        + "_6 {\n\t\ttype ipv6_addr . inet_proto . inet_service\n\t\tflags interval,timeout\n\t}\n"
        + extraSets
        + "\tchain "
        + chain
        + " {\n"
        + rules
        + "\t}\n"
        + "}\n";
  }

  @Test
  void detach_afterItsOwnInstall_isOneNftTransactionAndOneConntrackBatch_withoutAListing()
      throws Exception {
    install();
    calls.clear();

    backend.remove(CHAIN, AGENT.addresses());

    assertEquals(2, calls.size(), calls.toString());
    assertEquals(
        "nft -f -\n"
            + new NftRenderer("egress")
                .remove(CHAIN, AGENT.addresses(), setsOf(rules()), List.of()),
        calls.get(0));
    assertTrue(calls.get(1).startsWith("conntrack -R -\n-D -f ipv4 -s 10.77.0.2\n"), calls.get(1));
  }

  private static Set<String> setsOf(Rules rules) {
    return NftRenderer.sets(rules.chain(), rules.plan()).keySet();
  }

  private void install() throws Exception {
    backend.install(CHAIN, rules().plan());
  }

  private boolean isIntact() throws Exception {
    return backend.isIntact(CHAIN, rules().plan());
  }

  @Test
  void remove_whoseRememberedTransactionFails_listsTheTable_andRemovesWhatItHolds()
      throws Exception {
    install();
    listing = listingOf(", 10.77.0.9 : jump " + CHAIN.value(), "");
    // Someone dispatched 10.77.0.9 to the chain too: deleting the chain fails while it is used.
    loadError = "Error: Could not process rule: Device or resource busy\n";
    calls.clear();

    assertThrows(NftException.class, () -> backend.remove(CHAIN, AGENT.addresses()));
    assertEquals(3, calls.size(), calls.toString());
    assertTrue(calls.get(1).startsWith("nft list table inet egress"), calls.get(1));
    assertTrue(
        calls.get(2).contains("delete element inet egress src4 { 10.77.0.9 }"), calls.get(2));

    loadError = "";
    calls.clear();
    backend.remove(CHAIN, AGENT.addresses());
    assertTrue(calls.get(0).startsWith("nft list"), "it failed, so it no longer trusts memory");
    assertTrue(calls.get(1).contains("delete element inet egress src4 { 10.77.0.9 }"));
    assertTrue(calls.get(2).contains("-D -f ipv4 -r 10.77.0.9"), "its connections are cut too");
  }

  @Test
  void remove_ofARuleSetItHasNotSeen_listsTheTableFirst_andOfAnAbsentOne_onlyCutsConnections()
      throws Exception {
    backend.remove(CHAIN, AGENT.addresses());

    assertEquals(2, calls.size(), calls.toString());
    assertTrue(calls.get(0).startsWith("nft list table inet egress"), calls.get(0));
    assertTrue(calls.get(1).startsWith("conntrack -R"), calls.get(1));
  }

  @Test
  void install_afterAReadBackFoundMoreThanThePolicyHas_dropsTheExtraElementAndSet()
      throws Exception {
    String extraSet = "\tset " + CHAIN.value() + "_h3_4 {\n\t\ttype ipv4_addr\n\t}\n";
    listing = listingOf(", 10.77.0.9 : jump " + CHAIN.value(), extraSet);
    assertFalse(isIntact());
    calls.clear();

    install();

    String script = calls.get(0);
    assertTrue(script.contains("delete element inet egress src4 { 10.77.0.9 }\n"), script);
    assertTrue(script.contains("delete set inet egress " + CHAIN.value() + "_h3_4\n"), script);
    assertFalse(script.contains("delete set inet egress " + CHAIN.value() + "_4\n"), script);
  }

  @Test
  void install_addsTheInterfaceWhereTheContainerLivesToTheContainerLinks() throws Exception {
    install();

    assertTrue(calls.get(0).endsWith("add element inet egress links { \"br0\" }\n"), calls.get(0));
  }

  @Test
  void install_whenTheRoutesCannotBeRead_failsBeforeLoadingAnything() throws Exception {
    Files.delete(procNet.resolve("route"));

    NftException e = assertThrows(NftException.class, this::install);

    assertTrue(e.getMessage().contains("cannot read the kernel's routes"), e.getMessage());
    assertTrue(e.hint().contains("procNet"), e.hint());
    assertEquals(List.of(), calls);
  }

  @Test
  void install_whenTheContainerLivesOnAnInterfaceWhoseNameNftCannotBeGiven_failsBeforeLoading()
      throws Exception {
    RoutesTest.write(
        procNet,
        RoutesTest.route4("br\"0", "10.77.0.0", "0.0.0.0", "0001", 0, "255.255.255.0"),
        "");

    NftException e = assertThrows(NftException.class, this::install);

    assertTrue(e.getMessage().contains("cannot be written into an nft rule"), e.getMessage());
    assertEquals(List.of(), calls);
  }

  @Test
  void install_afterAListingShowedLeftoverSetsOfItsName_dropsThem() throws Exception {
    listing =
        "table inet egress {\n\tset "
            + CHAIN.value()
            + "_h5_6 {\n\t\ttype ipv6_addr\n\t}\n\tchain "
            + CHAIN.value()
            + " {\n\t}\n}\n";
    assertEquals(List.of(), backend.loaded(), "an empty chain and a set are no rule set");
    calls.clear();

    install();

    assertTrue(
        calls.get(0).contains("delete set inet egress " + CHAIN.value() + "_h5_6\n"), calls.get(0));
  }

  @Test
  void isIntact_isTrue_onlyForTheWholeRuleSet() throws Exception {
    listing = listingOf("", "");
    assertTrue(isIntact());
    listing = listingOf("", "\tset " + CHAIN.value() + "_h3_4 {\n\t\ttype ipv4_addr\n\t}\n");
    assertFalse(isIntact(), "an extra set of its naming");
    listing = listingOf(", 10.77.0.9 : jump " + CHAIN.value(), "");
    assertFalse(isIntact(), "an extra dispatch element");
    listing =
        listingOf("", "")
            .replace(
                "elements = { 10.99.0.10 . tcp . 443 }", "elements = { 10.99.0.11 . tcp . 443 }");
    assertFalse(isIntact(), "another address");
    listing =
        listingOf("", "")
            .replace(
                "elements = { 10.99.0.10 . tcp . 443 }", "elements = { 10.99.0.10 . tcp . 1-443 }");
    assertFalse(isIntact(), "more ports");
    listing = listingOf("", "").replace("\t\tcounter goto deny\n", "");
    assertFalse(isIntact(), "no final reject");
    listing = listingOf("", "").replace("elements = { \"br0\" }", "elements = { \"br1\" }");
    assertFalse(isIntact(), "its link missing from the container links");
  }

  @Test
  void install_killedAtItsTimeout_whenTheReadBackFindsItInPlace_succeeds() throws Exception {
    loadsTimeOut = true;
    listing = listingOf("", "");

    install();

    assertTrue(calls.get(1).startsWith("nft list table inet egress"), calls.toString());
  }

  @Test
  void install_killedAtItsTimeout_whenTheReadBackFindsItMissing_saysSo() {
    loadsTimeOut = true;
    listing = listingOf("", "").replace("10.99.0.10", "10.99.0.11"); // the previous addresses

    NftException e = assertThrows(NftException.class, this::install);

    assertEquals(NftException.Kind.TIMEOUT, e.kind());
    assertTrue(e.getMessage().contains("is not in place"), e.getMessage());
    assertTrue(e.getMessage().contains("as it was before this load"), e.getMessage());
  }

  @Test
  void install_killedAtItsTimeout_whenTheReadBackFails_saysItMayOrMayNotBeInPlace() {
    loadsTimeOut = true;
    listing = "";
    NftBackend unreadable =
        new NftBackend(
            new NftCommand(
                command -> {
                  if (command.argv().contains("-f")) {
                    throw new ProcessTimeoutException(command, Duration.ofSeconds(1));
                  }
                  return new ProcessResult(1, "", "Error: Operation not permitted\n");
                },
                List.of("nft"),
                List.of("conntrack"),
                Duration.ofSeconds(1)),
            "egress",
            NftGuard.none(),
            procNet);

    NftException e =
        assertThrows(NftException.class, () -> unreadable.install(CHAIN, rules().plan()));

    assertEquals(NftException.Kind.TIMEOUT, e.kind());
    assertTrue(e.getMessage().contains("may or may not be in place"), e.getMessage());
  }

  @Test
  void prepareAndRefresh_killedAtTheirTimeout_withNothingInPlace_sayItIsNotInPlace() {
    loadsTimeOut = true;

    NftException prepare = assertThrows(NftException.class, backend::prepare);
    NftException refresh =
        assertThrows(
            NftException.class, () -> backend.refreshAddresses(CHAIN, rules().plan(), Set.of(API)));

    assertTrue(
        prepare.getMessage().contains("the prepared table is not in place"), prepare.getMessage());
    assertTrue(refresh.getMessage().contains("is not in place"), refresh.getMessage());
  }

  /** A backend whose grant session is {@code nft}, timing out after {@code timeout}. */
  private NftBackend granting(FakeNftSession nft, Duration timeout) {
    return new NftBackend(
        new NftCommand(this::run, nft.command(), List.of("conntrack"), timeout),
        "egress",
        NftGuard.none(),
        procNet);
  }

  private static EnforcementPlan filtered() throws Exception {
    return EnforcementPlan.of(
        PolicyText.parse("allow api.example.test port 443\ndns filter\n", "test"),
        AGENT,
        Resolutions.none().with(API, Set.of(IpAddresses.parse("192.0.2.10"))),
        IpAddresses.parse("10.77.0.1"));
  }

  @Test
  void aGrant_isOneLineToTheGrantSession_noProcessStart_andAnAddressTheNameResolvesToNeedsNone(
      @TempDir Path sessionDir) throws Exception {
    FakeNftSession nft = new FakeNftSession(sessionDir);
    NftBackend granting = granting(nft, Duration.ofSeconds(30));
    Instant now = Instant.now();
    try {
      granting.grant(
          CHAIN,
          filtered(),
          Map.of(
              API,
              Map.of(
                  IpAddresses.parse("192.0.2.11"),
                  now.plusSeconds(60),
                  IpAddresses.parse("2001:db8::11"),
                  now.plusSeconds(60))));
      granting.grant(
          CHAIN,
          filtered(),
          Map.of(API, Map.of(IpAddresses.parse("192.0.2.10"), now.plusSeconds(60))));
    } finally {
      granting.close();
    }

    assertEquals(List.of(), calls, "no nft -f -, no listing");
    List<String> lines = nft.log();
    assertEquals(2, lines.size(), lines.toString());
    assertTrue(
        lines
            .get(0)
            .startsWith(
                "add element inet egress " + CHAIN + "_4 { 192.0.2.11 . tcp . 443 timeout "),
        lines.get(0));
    // The renewal follows the kernel this runs on: one add from Linux 6.12 on.
    assertEquals(
        TimeoutRenewal.ofRunningKernel() == TimeoutRenewal.DELETE_AND_ADD,
        lines
            .get(0)
            .contains("; delete element inet egress " + CHAIN + "_4 { 192.0.2.11 . tcp . 443 }"),
        lines.get(0));
    assertTrue(
        lines.get(0).contains(CHAIN + "_6 { 2001:db8::11 . tcp . 443 timeout "), lines.get(0));
    assertEquals(":egress-done 1", lines.get(1));
    assertTrue(nft.allGone(), "close() killed the session");
  }

  @Test
  void aGrant_whoseSessionIsKilledAtItsTimeout_isReadBack_andFailsWhenNotInPlace(
      @TempDir Path sessionDir) throws Exception {
    FakeNftSession nft = new FakeNftSession(sessionDir);
    nft.mode(FakeNftSession.Mode.HANG);
    NftBackend granting = granting(nft, Duration.ofMillis(500));
    listing = listingOf("", "");

    NftException e =
        assertThrows(
            NftException.class,
            () ->
                granting.grant(
                    CHAIN,
                    filtered(),
                    Map.of(
                        API,
                        Map.of(IpAddresses.parse("192.0.2.11"), Instant.now().plusSeconds(60)))));

    assertEquals(NftException.Kind.TIMEOUT, e.kind());
    assertTrue(e.getMessage().contains("is not in place"), e.getMessage());
    assertEquals(List.of(nft.command().get(0) + " list table inet egress"), calls, "the read-back");
    assertTrue(nft.allGone(), "the session and its sleep were killed");
  }

  @Test
  void aGrant_killedAtItsTimeout_isInPlace_onlyWhenItsElementHasTheTimeItGave(
      @TempDir Path sessionDir) throws Exception {
    FakeNftSession nft = new FakeNftSession(sessionDir);
    nft.mode(FakeNftSession.Mode.HANG);
    NftBackend granting = granting(nft, Duration.ofMillis(500));
    Map<HostName, Map<InetAddress, Instant>> grant =
        Map.of(API, Map.of(IpAddresses.parse("192.0.2.11"), Instant.now().plusSeconds(60)));
    String committed = "10.99.0.10 . tcp . 443, 192.0.2.11 . tcp . 443 timeout 1m expires 59s";
    listing = listingOf("", "").replace("10.99.0.10 . tcp . 443", committed);

    granting.grant(CHAIN, filtered(), grant);

    // An earlier grant's element, 10 s left: the renewal to 60 s did not commit.
    listing =
        listingOf("", "")
            .replace("10.99.0.10 . tcp . 443", committed.replace("expires 59s", "expires 10s"));
    NftException e =
        assertThrows(NftException.class, () -> granting.grant(CHAIN, filtered(), grant));
    assertTrue(e.getMessage().contains("is not in place"), e.getMessage());
    assertTrue(nft.allGone(), "the sessions were killed");
  }

  /** {@code listing} as nft prints it after traffic: each counter with {@code packets} packets. */
  private static String counted(String listing, long packets) {
    return listing.replace(
        "counter ", "counter packets " + packets + " bytes " + packets * 60 + " ");
  }

  /** One health check of the agent's rule set against {@code plan}. */
  private boolean checkedIntact(EnforcementPlan plan) throws Exception {
    return backend.readInstalled().isIntact(CHAIN, plan);
  }

  /**
   * Two checks of the agent's intact rule set, the second over a listing that differs only in
   * counter values (7 packets each): the second is a memo hit, neither parsed nor compared again.
   */
  private void checkTwiceWithAMemoHit() throws Exception {
    listing = counted(listingOf("", ""), 1);
    assertTrue(checkedIntact(rules().plan()));

    listing = counted(listingOf("", ""), 7);
    assertTrue(checkedIntact(rules().plan()));

    assertEquals(1, backend.checkParses(), "the second listing reads as the first");
    assertEquals(1, backend.checkComparisons(), "found intact with the same plan and routes");
  }

  @Test
  void check_ofAListingThatDiffersOnlyInCounterValues_isIntact_withoutParsingOrComparingAgain()
      throws Exception {
    checkTwiceWithAMemoHit();
  }

  @Test
  void check_ofTheSameListingWithAnotherPlan_comparesAgain_andFindsTheDrift() throws Exception {
    listing = counted(listingOf("", ""), 1);
    assertTrue(checkedIntact(rules().plan()));
    EnforcementPlan moved =
        new Rules(
                CHAIN,
                AGENT,
                rules().policy(),
                new Resolutions(Map.of(API, Set.of(IpAddresses.parse("10.99.0.11")))))
            .plan();

    assertFalse(checkedIntact(moved), "its set holds 10.99.0.10, the plan 10.99.0.11");
    assertEquals(2, backend.checkComparisons());
    assertEquals(1, backend.checkParses(), "the same listing");
  }

  @Test
  void check_ofTheSameListingAfterTheRoutesChanged_comparesAgain_andFindsTheDrift()
      throws Exception {
    listing = counted(listingOf("", ""), 1);
    assertTrue(checkedIntact(rules().plan()));
    // The agent now lives on br1, which the container links do not hold.
    RoutesTest.write(
        procNet,
        RoutesTest.route4("br1", "10.77.0.0", "0.0.0.0", "0001", 0, "255.255.255.0"),
        "fd000077000000000000000000000000 40 00000000000000000000000000000000 00"
            + " 00000000000000000000000000000000 00000100 00000001 00000000 00000001 br1\n");

    assertFalse(checkedIntact(rules().plan()));
    assertEquals(2, backend.checkComparisons());
  }

  @Test
  void check_afterAMemoHit_findsASetElementChanged() throws Exception {
    checkTwiceWithAMemoHit();

    listing =
        counted(listingOf("", ""), 7)
            .replace("{ 10.99.0.10 . tcp . 443 }", "{ 10.99.0.11 . tcp . 443 }");
    assertFalse(checkedIntact(rules().plan()));
    assertEquals(2, backend.checkComparisons());
  }

  @Test
  void check_afterAMemoHit_findsARuleWhoseCounterWasRemoved() throws Exception {
    checkTwiceWithAMemoHit();

    // Its refusals are no longer counted: drift, though only a counter differs.
    String uncounted = listing.replace("counter packets 7 bytes 420 goto deny", "goto deny");
    assertNotEquals(listing, uncounted);
    listing = uncounted;
    assertFalse(checkedIntact(rules().plan()));
  }
}
