package dev.egress.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.SystemProcessRunner;
import dev.egress.testkit.container.FakeContainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ContainerCli} against the fake {@code container} executable, run by the system runner. */
class ContainerCliTest {
  @TempDir Path root;
  private Path state;
  private ContainerCli cli;

  @BeforeEach
  void installFake() throws Exception {
    state = Files.createDirectories(root.resolve("state"));
    Path bin = FakeContainer.install(root, state);
    cli =
        new ContainerCli(
            new SystemProcessRunner(), bin.resolve("container").toString(), Duration.ofSeconds(60));
  }

  @Test
  void runInspectExecStop_onThePathExecutable_roundTrip() throws Exception {
    FakeContainer.change(state, s -> s.script.inspectsWithoutAddress = 1);
    ContainerRunSpec spec =
        ContainerRunSpec.builder("nanoclaw-main-1", "nanoclaw-agent:latest")
            .label("dev.egress.group", "main")
            .mount(root, "/workspace/group", false)
            .env("TZ", "UTC")
            .command(List.of("sleep", "infinity"))
            .build();

    assertEquals("nanoclaw-main-1", cli.runDetached(spec));
    assertEquals(List.of(), cli.inspect("nanoclaw-main-1").orElseThrow().addresses());
    ContainerInfo info = cli.inspect("nanoclaw-main-1").orElseThrow();
    assertEquals("192.168.64.2/24", String.valueOf(info.networks().get(0).ipv4()));
    assertEquals("main", info.labels().get("dev.egress.group"));
    assertEquals(
        List.of("nanoclaw-main-1"), cli.listRunning().stream().map(ContainerInfo::id).toList());
    assertTrue(cli.exec("nanoclaw-main-1", List.of("agent-runner", "--task", "1")).succeeded());

    cli.stop("nanoclaw-main-1");

    assertEquals(Optional.empty(), cli.inspect("nanoclaw-main-1"));
    assertEquals(List.of(), cli.listRunning());
    assertEquals(
        List.of("agent-runner --task 1"),
        List.of(
            FakeContainer.read(state).calls.stream()
                .filter(c -> c.startsWith("exec"))
                .map(c -> c.substring("exec nanoclaw-main-1 ".length()))
                .toArray()));
  }

  @Test
  void runDetached_whenTheCliFails_reportsCommandAndStderr() {
    FakeContainer.change(state, s -> s.script.runFails = true);

    ContainerCliException e =
        assertThrows(
            ContainerCliException.class,
            () -> cli.runDetached(ContainerRunSpec.builder("x", "img").build()));

    assertTrue(e.getMessage().contains("container run --detach --rm --name x img"), e.getMessage());
    assertTrue(e.getMessage().contains("failed to bootstrap container"), e.getMessage());
  }

  @Test
  void runDetached_whenTheCliFails_doesNotPrintEnvironmentValues() {
    FakeContainer.change(state, s -> s.script.runFails = true);

    ContainerCliException e =
        assertThrows(
            ContainerCliException.class,
            () ->
                cli.runDetached(
                    ContainerRunSpec.builder("x", "img")
                        .env("ANTHROPIC_API_KEY", "sk-ant-secret")
                        .build()));

    assertFalse(e.getMessage().contains("sk-ant-secret"), e.getMessage());
    assertTrue(e.getMessage().contains("--env ANTHROPIC_API_KEY=…"), e.getMessage());
  }

  @Test
  void ensureNetwork_createsItOnceWithItsSubnet() throws Exception {
    cli.ensureNetwork(
        "egress-managed", IpNetwork.parse("10.213.0.0/24"), IpNetwork.parse("fd00:10:213::/64"));
    cli.ensureNetwork(
        "egress-managed", IpNetwork.parse("10.213.0.0/24"), IpNetwork.parse("fd00:10:213::/64"));

    assertEquals(
        1,
        FakeContainer.read(state).calls.stream()
            .filter(
                c ->
                    c.equals(
                        "network create egress-managed --subnet 10.213.0.0/24"
                            + " --subnet-v6 fd00:10:213::/64"))
            .count());
    cli.runDetached(ContainerRunSpec.builder("n1", "img").network("egress-managed").build());
    assertEquals(
        List.of(IpAddresses.parse("10.213.0.2"), IpAddresses.parse("fd00:10:213::2")),
        cli.inspect("n1").orElseThrow().addresses());
  }

  @Test
  void missingExecutable_saysHowToFix() {
    ContainerCli missing =
        new ContainerCli(
            new SystemProcessRunner(), root.resolve("container").toString(), Duration.ofSeconds(5));

    ContainerCliException e = assertThrows(ContainerCliException.class, missing::listRunning);

    assertTrue(e.getMessage().contains("container system start"), e.getMessage());
    assertFalse(e.getMessage().isBlank());
  }
}
