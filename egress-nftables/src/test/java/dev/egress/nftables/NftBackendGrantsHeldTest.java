package dev.egress.nftables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.audit.NflogGroups;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.plan.EnforcementPlan;
import dev.egress.plan.Family;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import dev.egress.process.SystemProcessRunner;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NftBackend#grantsHeld} over a stand-in nft that lists a rule set an earlier process
 * installed for one plan, with one granted element: taken over for that plan only.
 */
class NftBackendGrantsHeldTest {
  private static final InetAddress FILTER = IpAddresses.parse("10.213.0.1");
  private static final InetAddress GRANTED = IpAddresses.parse("192.0.2.7");
  private static final HostName NAME = HostName.of("a.example.com");
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private static final ContainerId BOX = ContainerId.of("box");
  private static final ChainName CHAIN = ChainName.forContainer(BOX);

  @TempDir Path dir;
  private Path runs;

  @BeforeEach
  void runs() {
    runs = dir.resolve("runs");
  }

  /** How many times the stand-in nft ran. */
  private long nftRuns() throws Exception {
    return Files.exists(runs) ? Files.readAllLines(runs).size() : 0;
  }

  /** {@code backend} after its read of the table before the first attach. */
  private static NftBackend afterARead(NftBackend backend) throws Exception {
    backend.installed();
    return backend;
  }

  private static EnforcementPlan plan(String policy, String source) throws Exception {
    return EnforcementPlan.of(
        PolicyText.parse(policy + "dns filter\n", "test"),
        new ContainerEndpoint(BOX, List.of(IpAddresses.parse(source)), FILTER),
        Resolutions.none(),
        FILTER);
  }

  /** The table as nft lists it after {@code installedFor} was installed and a grant made. */
  private static String listing(EnforcementPlan installedFor) {
    String rules =
        new NftRenderer("egress")
            .chainRules(CHAIN, installedFor).stream()
                .map(rule -> "\t\t" + rule.replace("counter", "counter packets 3 bytes 180"))
                .collect(Collectors.joining("\n"));
    return "table inet egress {\n"
        + "\tset "
        + CHAIN.setName(Family.IPV4, false)
        + " {\n"
        + "\t\ttype ipv4_addr . inet_proto . inet_service\n"
        + "\t\tflags timeout\n"
        + "\t\telements = { 192.0.2.7 . tcp . 443 timeout 1m expires 50s }\n"
        + "\t}\n\n"
        + "\tchain "
        + CHAIN
        + " {\n"
        + rules
        + "\n\t}\n}\n";
  }

  private NftBackend backendListing(String listing) throws Exception {
    Path out = Files.writeString(dir.resolve("stdout"), listing);
    Path nft =
        Files.writeString(
            dir.resolve("nft"), "#!/bin/bash\necho run >> '" + runs + "'\ncat '" + out + "'\n");
    return new NftBackend(
        new NftCommand(
            new SystemProcessRunner(),
            List.of("bash", nft.toString()),
            List.of("false"),
            Duration.ofSeconds(10)),
        "egress",
        NftGuard.none(),
        Path.of("/proc/net"),
        NflogGroups.defaults(),
        FILTER,
        Clock.fixed(NOW, ZoneOffset.UTC));
  }

  @Test
  void underThePlanItWasGrantedUnder_theGrantIsHeld_untilTheKernelsEnd() throws Exception {
    EnforcementPlan plan = plan("allow a.example.com port 443\n", "10.213.0.2");

    Map<HostName, Map<InetAddress, Instant>> held =
        afterARead(backendListing(listing(plan))).grantsHeld(CHAIN, plan);

    assertEquals(Map.of(NAME, Map.of(GRANTED, NOW.plusSeconds(50))), held);
  }

  @Test
  void underAnotherName_withTheSamePorts_nothingIsHeld() throws Exception {
    EnforcementPlan granted = plan("allow evil.example.com port 443\n", "10.213.0.2");
    EnforcementPlan now = plan("allow a.example.com port 443\n", "10.213.0.2");

    assertEquals(Map.of(), afterARead(backendListing(listing(granted))).grantsHeld(CHAIN, now));
  }

  @Test
  void forAnotherSourceAddress_nothingIsHeld() throws Exception {
    EnforcementPlan granted = plan("allow a.example.com port 443\n", "10.213.0.3");
    EnforcementPlan now = plan("allow a.example.com port 443\n", "10.213.0.2");

    assertEquals(Map.of(), afterARead(backendListing(listing(granted))).grantsHeld(CHAIN, now));
  }

  @Test
  void withoutARuleSet_nothingIsHeld() throws Exception {
    EnforcementPlan plan = plan("allow a.example.com port 443\n", "10.213.0.2");

    assertEquals(
        Map.of(), afterARead(backendListing("table inet egress {\n}\n")).grantsHeld(CHAIN, plan));
  }

  @Test
  void withoutAListingRead_nothingIsHeld_andNftDoesNotRun() throws Exception {
    EnforcementPlan plan = plan("allow a.example.com port 443\n", "10.213.0.2");
    NftBackend backend = backendListing(listing(plan));

    assertEquals(Map.of(), backend.grantsHeld(CHAIN, plan));
    assertEquals(0, nftRuns(), "it answers from what was read, and reads nothing itself");
  }

  @Test
  void aRuleSetRemovedSinceTheListing_holdsNothing() throws Exception {
    EnforcementPlan plan = plan("allow a.example.com port 443\n", "10.213.0.2");
    NftBackend backend = afterARead(backendListing(listing(plan)));
    long before = nftRuns();

    backend.remove(CHAIN, List.of()); // the stand-in nft "succeeds"

    assertTrue(nftRuns() > before, "the removal ran nft");
    assertEquals(Map.of(), backend.grantsHeld(CHAIN, plan), "what the listing showed is gone");
  }

  @Test
  void aRuleSetInstalledBeforeThePlansKey_holdsNothing() throws Exception {
    EnforcementPlan plan = plan("allow a.example.com port 443\n", "10.213.0.2");
    String withoutKey = listing(plan).replaceAll(" comment \"plan [0-9a-f]+\"", "");

    assertEquals(Map.of(), afterARead(backendListing(withoutKey)).grantsHeld(CHAIN, plan));
  }

  @Test
  void anElementWithoutAReadableExpiry_isLeftOut_andTheOthersHeld() throws Exception {
    EnforcementPlan plan =
        plan("allow a.example.com port 443\nallow b.example.com port 443\n", "10.213.0.2");
    String listing =
        listing(plan)
            .replace(
                "192.0.2.7 . tcp . 443 timeout 1m expires 50s",
                "192.0.2.7 . tcp . 443 timeout 1m expires 50s, 192.0.2.8 . tcp . 443 timeout 1m");

    Map<HostName, Map<InetAddress, Instant>> held =
        afterARead(backendListing(listing)).grantsHeld(CHAIN, plan);

    Map<InetAddress, Instant> one = Map.of(GRANTED, NOW.plusSeconds(50));
    assertEquals(Map.of(NAME, one, HostName.of("b.example.com"), one), held);
  }

  @Test
  void aHealthChecksListing_servesAsWell() throws Exception {
    EnforcementPlan plan = plan("allow a.example.com port 443\n", "10.213.0.2");
    NftBackend backend = backendListing(listing(plan));

    backend.readInstalled();

    assertEquals(
        Map.of(NAME, Map.of(GRANTED, NOW.plusSeconds(50))), backend.grantsHeld(CHAIN, plan));
  }

  @Test
  void aRuleSetInstalledSinceTheListing_holdsNothing_untilTheNextListing() throws Exception {
    EnforcementPlan plan = plan("allow a.example.com port 443\n", "10.213.0.2");
    NftBackend backend = afterARead(backendListing(listing(plan)));

    backend.install(CHAIN, plan); // the stand-in nft "succeeds"

    assertEquals(Map.of(), backend.grantsHeld(CHAIN, plan), "the listing came before it");
    backend.installed();
    assertEquals(
        Map.of(NAME, Map.of(GRANTED, NOW.plusSeconds(50))),
        backend.grantsHeld(CHAIN, plan),
        "a listing read after it shows what the rule set holds");
  }

  @Test
  void changesOlderThanTheLatestListing_areNotRemembered() throws Exception {
    EnforcementPlan plan = plan("allow a.example.com port 443\n", "10.213.0.2");
    NftBackend backend = afterARead(backendListing(listing(plan)));
    for (int i = 0; i < 5; i++) {
      backend.install(ChainName.forContainer(ContainerId.of("other" + i)), plan);
    }
    assertEquals(5, backend.changesRemembered());

    backend.installed();

    assertEquals(0, backend.changesRemembered(), "a listing read after them holds them");
    assertEquals(
        Map.of(NAME, Map.of(GRANTED, NOW.plusSeconds(50))), backend.grantsHeld(CHAIN, plan));
  }
}
