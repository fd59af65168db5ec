package dev.egress.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.pf.PfEgressEnforcer;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicyText;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.pf.FakePfctl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pf enforcer's own pfctl calls, made through the generated wrapper to the fake pfctl program:
 * every call the library makes in a whole lifecycle passes the wrapper.
 */
class WrapperWithEnforcerTest {
  @TempDir Path dir;

  @Test
  void enforcerLifecycle_throughTheWrapper_isAllowedEndToEnd() throws Exception {
    Path fakePfctl = FakePfctl.installExecutable(dir);
    Path wrapper = dir.resolve("egressctl-pfctl");
    Path tokens = dir.resolve("state/pf-tokens");
    Files.writeString(
        wrapper,
        new PfctlWrapper(fakePfctl.toString(), ParentAnchor.defaults(), tokens.toString())
            .script());
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
    FakeNameResolver resolver =
        new FakeNameResolver().set("api.anthropic.com", IpAddresses.parse("160.79.104.10"));
    try (PfEgressEnforcer enforcer =
        PfEgressEnforcer.builder()
            .resolver(resolver)
            .processRunner(new SystemProcessRunner())
            .pfctlCommand(List.of(wrapper.toString()))
            .build()) {
      Attachment attachment =
          enforcer.attach(
              new ContainerEndpoint(
                  ContainerId.of("agent-1"),
                  List.of(IpAddresses.parse("192.168.64.3"), IpAddresses.parse("fd00:64::3")),
                  IpAddresses.parse("192.168.64.1")),
              PolicyText.parse(PfAttached.POLICY, "test"));
      FakePfctl during = FakePfctl.readFrom(dir.resolve("pfctl.state"));
      assertTrue(during.isEnabled());
      assertFalse(during.anchor("com.apple/000.egress/agent-1").orElseThrow().isEmpty());
      assertEquals(1, Files.readAllLines(tokens).size(), "the wrapper recorded the token it took");
      attachment.detach();
    }
    FakePfctl after = FakePfctl.readFrom(dir.resolve("pfctl.state"));
    assertEquals(List.of(), after.refusedCalls());
    List<String> lines = after.calls().stream().map(FakePfctl.Call::line).toList();
    assertTrue(lines.contains("-E"), lines.toString());
    assertTrue(
        lines.stream().anyMatch(line -> line.startsWith("-X ")),
        "close released the token: " + lines);
    assertTrue(lines.contains("-a com.apple/000.egress/agent-1 -F all"), lines.toString());
    assertTrue(lines.contains("-k ::/0 -k fd00:64::3"), lines.toString());
    assertTrue(after.tokens().isEmpty(), "no reference left on pf");
    assertEquals(List.of(), Files.readAllLines(tokens), "the released token is forgotten");
  }
}
