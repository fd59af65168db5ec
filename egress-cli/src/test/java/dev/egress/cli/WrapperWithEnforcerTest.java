package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.render.ManagedNetwork;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.pf.FakePfctl;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pf enforcer's own pfctl calls, and egressctl's, made through the generated wrapper to the
 * fake pfctl program: every call of a whole lifecycle (reconcile, attach, update, refresh, health
 * check, status, detach, close) passes the wrapper and its text checks, while a release of the
 * enable reference that closing keeps is refused.
 */
class WrapperWithEnforcerTest {
  private static final String CHILD = "com.apple/000.egress/agent-1";

  @TempDir Path dir;

  @Test
  void enforcerLifecycle_throughTheWrapper_isAllowedEndToEnd() throws Exception {
    WrapperRig rig = new WrapperRig(dir, WrapperRig.SCOPE, FakePfctl.installExecutable(dir));
    Path state = dir.resolve("pfctl.state");
    FakeNameResolver resolver =
        new FakeNameResolver().set("api.anthropic.com", IpAddresses.parse("160.79.104.10"));
    ParentAnchor parent =
        ParentAnchor.defaults()
            .guarding(
                ManagedNetwork.of(
                        IpNetwork.parse("192.168.64.0/24"), IpNetwork.parse("fd00:64::/64"))
                    .onBridge("bridge100"),
                true);
    try (PfEgressEnforcer enforcer =
        PfEgressEnforcer.builder()
            .resolver(resolver)
            .processRunner(new SystemProcessRunner())
            .pfctlCommand(List.of(rig.wrapper().toString()))
            .parentAnchor(parent)
            .build()) {
      enforcer.reconcile(Set.of());
      Attachment attachment =
          enforcer.attach(
              new ContainerEndpoint(
                  ContainerId.of("agent-1"),
                  List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00:64::3")),
                  IpAddresses.parse("192.168.64.1")),
              PolicyText.parse(PfAttached.POLICY, "test"));
      assertEquals(1, FakePfctl.readFrom(state).tokens().size(), "prepare took one reference");
      attachment.update(
          PolicyText.parse(PfAttached.POLICY + "allow 10.0.0.0/8 port 1-65535 proto udp\n", "t"));
      resolver.set("api.anthropic.com", IpAddresses.parse("160.79.104.11"));
      assertEquals(List.of(), enforcer.checkHealth(), "what was loaded reads back intact");
      enforcer.reconcile(Set.of(ContainerId.of("agent-1")));

      FakePfctl during = FakePfctl.readFrom(state);
      assertTrue(during.isEnabled());
      assertTrue(
          during.anchor(CHILD).orElseThrow().tables().get("tcp_443").contains("160.79.104.11"));
      Cli.Result status =
          new Cli()
              .processes(new SystemProcessRunner())
              .run("status", "--backend", "pf", "--pfctl-command", rig.wrapper().toString());
      assertEquals(0, status.exit(), status.err());
      assertTrue(status.out().startsWith("agent-1  192.168.64.3 fd00:64::3"), status.out());

      attachment.detach();
    }
    FakePfctl after = FakePfctl.readFrom(state);
    assertEquals(List.of(), after.refusedCalls());
    List<String> lines = after.calls().stream().map(FakePfctl.Call::line).toList();
    for (String expected :
        List.of(
            "-s info",
            "-E",
            "-a com.apple/000.egress -f -",
            "-a com.apple/000.egress -s Anchors",
            "-a " + CHILD + " -f -",
            "-a " + CHILD + " -t tcp_443 -T replace -f -",
            "-a " + CHILD + " -s rules",
            "-a " + CHILD + " -t tcp_443 -T show",
            "-s rules",
            "-a " + CHILD + " -F all",
            "-k 192.168.64.3",
            "-k ::/0 -k fd00:64::3")) {
      assertTrue(lines.contains(expected), expected + " in " + lines);
    }
    // Closing keeps the reference, so that pf keeps the guard and the rules in force.
    assertFalse(lines.stream().anyMatch(line -> line.startsWith("-X ")), lines.toString());
    assertTrue(after.isEnabled());
    assertEquals(1, after.tokens().size());
    assertFalse(
        after.anchor("com.apple/000.egress").orElseThrow().rules().isEmpty(), "guard loaded");

    // Nor can the launcher's user release it through the wrapper: that would switch pf off.
    String token = String.valueOf(after.tokens().iterator().next());
    WrapperRig.Run release = rig.run("-X", token);
    assertEquals(64, release.exit(), release.stderr());
    assertTrue(FakePfctl.readFrom(state).isEnabled(), "pf stays enabled");
    assertEquals(Set.of(Long.parseLong(token)), FakePfctl.readFrom(state).tokens());
  }
}
