package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.lab.NetnsLab;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.LabRequirement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * doctor, status and cleanup with the real nft and conntrack, in the host namespace of a network
 * namespace lab. Skipped with a reason where the lab cannot run, except under CI=true, where that
 * fails.
 */
class NftLabTest {
  private NetnsLab lab;
  private String nft;
  private String conntrack;

  @BeforeEach
  void startLab() throws Exception {
    lab = LabRequirement.startLab(1, "nft", "conntrack");
    nft = String.join(" ", lab.inHost("nft"));
    conntrack = String.join(" ", lab.inHost("conntrack"));
  }

  @AfterEach
  void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  private Cli.Result run(String... args) {
    String[] all = new String[args.length + 7];
    System.arraycopy(args, 0, all, 0, args.length);
    System.arraycopy(
        new String[] {
          "--backend", "nft", "--nft-command", nft, "--conntrack-command", conntrack, "-q"
        },
        0,
        all,
        args.length,
        7);
    return new Cli().os("Linux").processes(new SystemProcessRunner()).run(all);
  }

  private void attachContainer() throws Exception {
    attachContainer(NftGuard.none());
  }

  private void attachContainer(NftGuard guard) throws Exception {
    FakeNameResolver resolver =
        new FakeNameResolver().set("api.example.com", NetnsLab.web(1), NetnsLab.webV6(1));
    try (NftEgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(resolver)
            .nftCommand(lab.inHost("nft"))
            .conntrackCommand(lab.inHost("conntrack"))
            .procNet(lab.hostProcNet())
            .guard(guard)
            .noHealthChecks()
            .build()) {
      enforcer.attach(
          lab.container(1).endpoint(),
          PolicyText.parse(
              "allow api.example.com port 443\nallow "
                  + IpAddresses.format(NetnsLab.web(0))
                  + " port 80\ndns none\n",
              "lab"));
    }
  }

  @Test
  void doctorStatusCleanup_againstTheRealKernel() throws Exception {
    Cli.Result before = run("doctor");
    assertEquals(0, before.exit(), before.out() + before.err());
    Cli.Result beforeStatus = run("status");
    assertEquals(0, beforeStatus.exit(), beforeStatus.out() + beforeStatus.err());

    attachContainer();

    Cli.Result doctor = run("doctor");
    assertEquals(0, doctor.exit(), doctor.out() + doctor.err());
    assertEquals("this host can enforce egress policies with nft\n", doctor.out());

    Cli.Result status = run("status");
    assertEquals(0, status.exit(), status.out() + status.err());
    String c1 =
        IpAddresses.format(lab.container(1).ipv4())
            + " "
            + IpAddresses.format(lab.container(1).ipv6());
    assertTrue(status.out().contains("  " + c1 + "  ("), status.out());
    assertTrue(
        status.out().contains("_4> " + IpAddresses.format(NetnsLab.web(1)) + " . tcp . 443\n"),
        status.out());
    assertTrue(
        status.out().contains("_6> " + IpAddresses.format(NetnsLab.webV6(1)) + " . tcp . 443\n"),
        status.out());

    Cli.Result dryRun = run("cleanup", "--none-live");
    assertEquals(1, dryRun.exit(), dryRun.out() + dryRun.err());
    assertTrue(dryRun.out().startsWith("would remove c_"), dryRun.out());

    Cli.Result cleanup = run("cleanup", "--none-live", "--yes", "--no-guard");
    assertEquals(0, cleanup.exit(), cleanup.out() + cleanup.err());
    assertTrue(cleanup.out().startsWith("removed c_"), cleanup.out());

    Cli.Result after = run("status", "--json");
    assertEquals(0, after.exit(), after.out() + after.err());
    assertEquals("{\"backend\":\"nft\",\"ruleSets\":[],\"drift\":[]}\n", after.out());
  }

  @Test
  void status_tableAlteredBehindTheEnforcer_reportsDrift() throws Exception {
    attachContainer();
    lab.exec(lab.hostNamespace(), "nft", "flush", "chain", "inet", "egress", "forward");

    Cli.Result status = run("status");
    Cli.Result doctor = run("doctor");

    assertEquals(1, status.exit(), status.out() + status.err());
    assertTrue(
        status
            .out()
            .contains("drift: base chain forward of table inet egress does not dispatch or guard"),
        status.out());
    assertEquals(3, doctor.exit(), doctor.out());
  }

  @Test
  void cleanup_onAGuardedHost_keepsTheGuard_andStatusSeesItsLossByHand() throws Exception {
    String[] guardOptions = {
      "--guard-interface", NetnsLab.BRIDGE, "--guard-network", "10.77.0.0/24"
    };
    attachContainer(
        new NftGuard(List.of(NetnsLab.BRIDGE), List.of(IpNetwork.parse("10.77.0.0/24")), false));

    Cli.Result refused = run("cleanup", "--none-live", "--yes");
    assertEquals(2, refused.exit(), refused.out() + refused.err());
    assertTrue(
        refused.err().contains("the guard the enforcer runs with is unknown"), refused.err());

    Cli.Result cleanup = run(with(guardOptions, "cleanup", "--none-live", "--yes"));
    assertEquals(0, cleanup.exit(), cleanup.out() + cleanup.err());
    assertTrue(cleanup.out().startsWith("removed c_"), cleanup.out());
    Cli.Result status = run(with(guardOptions, "status"));
    assertEquals(0, status.exit(), status.out() + status.err());
    assertTrue(
        lab.exec(lab.hostNamespace(), "nft", "list", "chain", "inet", "egress", "forward")
            .contains(NetnsLab.BRIDGE),
        "the guard is still in the forward chain");

    lab.exec(lab.hostNamespace(), "nft", "flush", "chain", "inet", "egress", "forward");
    Cli.Result drift = run(with(guardOptions, "status"));

    assertEquals(1, drift.exit(), drift.out() + drift.err());
    assertTrue(drift.out().contains("drift: base chain forward of table inet egress"), drift.out());
  }

  @Test
  void cleanupAndStatus_withEgressdsConfig_keepTheDnsFiltersRedirect(@TempDir Path dir)
      throws Exception {
    NftGuard guard =
        new NftGuard(List.of(NetnsLab.BRIDGE), List.of(IpNetwork.parse("10.77.0.0/24")), false);
    String filter = IpAddresses.format(lab.gateway());
    FakeNameResolver resolver = new FakeNameResolver().set("api.example.com", NetnsLab.web(1));
    try (NftEgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(resolver)
            .nftCommand(lab.inHost("nft"))
            .conntrackCommand(lab.inHost("conntrack"))
            .procNet(lab.hostProcNet())
            .guard(guard)
            .dnsFilter(lab.gateway())
            .noHealthChecks()
            .build()) {
      enforcer.attach(
          lab.container(1).endpoint(),
          PolicyText.parse("allow api.example.com port 443\ndns filter\n", "lab"));
    }
    String redirect = "dnat ip to " + filter;
    assertTrue(dnsChain().contains(redirect), dnsChain());
    Path config =
        Files.writeString(
            dir.resolve("egressd.conf"),
            "backend nftables\nmanaged-network 10.77.0.0/24\nguard-log off\nguard-interfaces "
                + NetnsLab.BRIDGE
                + "\nallow-users root\ndns-filter "
                + filter
                + "\n");

    Cli.Result status = run("status", "--config", config.toString());
    assertEquals(0, status.exit(), status.out() + status.err());

    Cli.Result cleanup = run("cleanup", "--none-live", "--yes", "--config", config.toString());
    assertEquals(0, cleanup.exit(), cleanup.out() + cleanup.err());
    assertTrue(cleanup.out().startsWith("removed c_"), cleanup.out());
    assertTrue(dnsChain().contains(redirect), "the redirect survives cleanup: " + dnsChain());
    Cli.Result after = run("status", "--config", config.toString());
    assertEquals(0, after.exit(), after.out() + after.err());
  }

  private String dnsChain() throws Exception {
    return lab.exec(lab.hostNamespace(), "nft", "list", "chain", "inet", "egress", "dns");
  }

  @Test
  void cleanup_liveGivenARuleSetName_isRefused_andRemovesNothing() throws Exception {
    attachContainer();
    String name = run("status").out().split(" ")[0];
    assertTrue(name.startsWith("c_"), name);

    Cli.Result refused = run("cleanup", "--live", name, "--yes", "--no-guard");

    assertEquals(2, refused.exit(), refused.out() + refused.err());
    assertTrue(refused.err().contains("is the name of an installed rule set"), refused.err());
    assertTrue(run("status").out().startsWith(name), "the rule set is still installed");
  }

  private static String[] with(String[] options, String... args) {
    String[] all = new String[args.length + options.length];
    System.arraycopy(args, 0, all, 0, args.length);
    System.arraycopy(options, 0, all, args.length, options.length);
    return all;
  }
}
