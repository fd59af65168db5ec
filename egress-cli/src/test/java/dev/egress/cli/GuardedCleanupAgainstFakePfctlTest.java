package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.daemon.ConfigText;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.pf.FakePfctl;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 (F1) on pf with FakePfctl as an executable, every pfctl call a process of its own as on
 * a Mac: {@code cleanup --yes} on a host guarded as egressd's configuration says keeps the guard,
 * {@code status} then shows no drift, and once the guard is removed by hand (the parent anchor
 * reloaded without it by a bare pfctl call) {@code status} shows drift.
 */
class GuardedCleanupAgainstFakePfctlTest {
  private static final String PARENT = "com.apple/000.egress";
  private static final String CONFIG =
      "backend pf\nmanaged-network 192.168.64.0/24\nguard-interfaces bridge100\n"
          + "allow-users root\n";

  @TempDir Path dir;

  @Test
  void cleanupYes_keepsTheGuard_statusSeesNoDrift_andAGuardRemovedByHandIsDrift() throws Exception {
    Path pfctl = FakePfctl.installExecutable(dir);
    Path pfState = dir.resolve("pfctl.state");
    Path config = Files.writeString(dir.resolve("egressd.conf"), CONFIG);
    FakePfctl.withStateFile(pfState, FakePfctl::enableByOthers);
    attachUnderTheGuard(pfctl, ConfigText.read(config).pfParent());
    List<String> guarded = parentRules(pfState);
    assertTrue(
        guarded.stream().anyMatch(rule -> rule.contains("on bridge100")),
        "the guard blocks the bridge: " + guarded);

    // agent-2 stopped; agent-1 runs.
    Cli.Result cleanup =
        run(pfctl, "cleanup", "--live", "agent-1", "--yes", "--config", config.toString());

    assertEquals(0, cleanup.exit(), cleanup.out() + cleanup.err());
    assertEquals("removed agent-2 (" + PARENT + "/agent-2, 192.168.64.4)\n", cleanup.out());
    FakePfctl after = FakePfctl.readFrom(pfState);
    assertEquals(guarded, after.anchor(PARENT).orElseThrow().rules(), "the guard is still there");
    assertTrue(after.anchor(PARENT + "/agent-2").map(FakePfctl.Anchor::isEmpty).orElse(true));
    assertFalse(after.anchor(PARENT + "/agent-1").orElseThrow().isEmpty());
    assertEquals(List.of(), after.refusedCalls());
    Cli.Result status = run(pfctl, "status", "--config", config.toString());
    assertEquals(0, status.exit(), status.out() + status.err());
    assertFalse(status.out().contains("drift"), status.out());

    // The guard removed by hand: the parent reloaded with the wildcard anchors alone.
    Process reload =
        new ProcessBuilder(pfctl.toString(), "-a", PARENT, "-f", "-")
            .redirectErrorStream(true)
            .start();
    reload
        .getOutputStream()
        .write("rdr-anchor \"*\"\nanchor \"*\"\n".getBytes(StandardCharsets.UTF_8));
    reload.getOutputStream().close();
    assertTrue(reload.waitFor(60, TimeUnit.SECONDS), "the bare pfctl call did not end");
    assertEquals(0, reload.exitValue(), new String(reload.getInputStream().readAllBytes()));
    assertNotEquals(guarded, parentRules(pfState));
    Cli.Result drift = run(pfctl, "status", "--config", config.toString());

    assertEquals(1, drift.exit(), drift.out() + drift.err());
    assertTrue(drift.out().contains("is missing or altered (its guard included)"), drift.out());
  }

  /** As egressd would: agent-1 and agent-2 attached by an enforcer with the configured guard. */
  private static void attachUnderTheGuard(Path pfctl, ParentAnchor parent) throws Exception {
    FakeNameResolver resolver =
        new FakeNameResolver().set("api.anthropic.com", IpAddresses.parse("160.79.104.10"));
    try (PfEgressEnforcer enforcer =
        PfEgressEnforcer.builder()
            .resolver(resolver)
            .processRunner(new SystemProcessRunner())
            .pfctlCommand(List.of(pfctl.toString()))
            .parentAnchor(parent)
            .noHealthChecks()
            .build()) {
      enforcer.reconcile(Set.of());
      for (String[] container :
          new String[][] {{"agent-1", "192.168.64.3"}, {"agent-2", "192.168.64.4"}}) {
        enforcer.attach(
            new ContainerEndpoint(
                ContainerId.of(container[0]),
                List.of(IpAddresses.parse(container[1])),
                IpAddresses.parse("192.168.64.1")),
            PolicyText.parse(PfAttached.POLICY, "test"));
      }
    }
  }

  private static List<String> parentRules(Path pfState) throws Exception {
    return FakePfctl.readFrom(pfState).anchor(PARENT).orElseThrow().rules();
  }

  private static Cli.Result run(Path pfctl, String command, String... more) {
    String[] args = new String[more.length + 5];
    args[0] = command;
    args[1] = "--backend";
    args[2] = "pf";
    args[3] = "--pfctl-command";
    args[4] = pfctl.toString();
    System.arraycopy(more, 0, args, 5, more.length);
    return new Cli().processes(new SystemProcessRunner()).run(args);
  }
}
