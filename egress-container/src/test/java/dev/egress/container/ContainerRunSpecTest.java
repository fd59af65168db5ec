package dev.egress.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.egress.policy.IpAddresses;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ContainerRunSpecTest {

  @Test
  void arguments_likeNanoClawsRunner_detachedWithNameLabelsMountsEnvNetworkAndDns() {
    ContainerRunSpec spec =
        ContainerRunSpec.builder("nanoclaw-main-1700000000000", "nanoclaw-agent")
            .label("dev.egress.group", "main")
            .mount(Path.of("/Users/me/nanoclaw/groups/main"), "/workspace/group", false)
            .mount(Path.of("/Users/me/nanoclaw/global"), "/workspace/global", true)
            .env("TZ", "UTC")
            .network("egress-managed")
            .dns(IpAddresses.parse("10.213.0.1"))
            .command(List.of("sleep", "infinity"))
            .build();

    assertEquals(
        List.of(
            "run",
            "--detach",
            "--rm",
            "--name",
            "nanoclaw-main-1700000000000",
            "--label",
            "dev.egress.group=main",
            "--mount",
            "type=bind,source=/Users/me/nanoclaw/groups/main,target=/workspace/group",
            "--mount",
            "type=bind,source=/Users/me/nanoclaw/global,target=/workspace/global,readonly",
            "--env",
            "TZ=UTC",
            "--network",
            "egress-managed",
            "--dns",
            "10.213.0.1",
            "nanoclaw-agent",
            "sleep",
            "infinity"),
        spec.arguments());
  }

  @Test
  void construction_rejectsWhatWouldBeReadAsAnotherOption() {
    assertThrows(
        IllegalArgumentException.class, () -> ContainerRunSpec.builder("-rm", "img").build());
    assertThrows(
        IllegalArgumentException.class,
        () -> ContainerRunSpec.builder("a", "--privileged").build());
    assertThrows(
        IllegalArgumentException.class,
        () -> ContainerRunSpec.builder("a", "img").label("k=v", "x").build());
    assertThrows(
        IllegalArgumentException.class,
        () -> ContainerRunSpec.builder("a", "img").mount(Path.of("relative"), "/x", true));
    assertThrows(
        IllegalArgumentException.class,
        () -> ContainerRunSpec.builder("a", "img").mount(Path.of("/a,b"), "/x", true));
  }
}
