package dev.egress.examples.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpNetwork;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launch path of runtimes that create stopped (Docker): attach, then start. */
class LauncherCreateThenStartTest {
  private final InMemoryEgressEnforcer enforcer =
      InMemoryEgressEnforcer.builder().resolver(new FakeNameResolver()).build();
  private final CreateThenStartRuntime runtime = new CreateThenStartRuntime(enforcer);
  private LauncherFixture fixture;
  private Launcher launcher;

  @BeforeEach
  void start(@TempDir Path root) throws Exception {
    fixture = new LauncherFixture(root);
    launcher =
        Launcher.builder(runtime, enforcer, PolicyRegistry.load(fixture.policyDir))
            .image("nanoclaw-agent:latest")
            .managedNetwork(new ContainerNetwork("managed", IpNetwork.parse("10.213.0.0/24")))
            .listener(fixture.events::add)
            .build();
    launcher.start();
  }

  @Test
  void launch_attachesBeforeTheContainerStarts() throws Exception {
    ManagedContainer container = launcher.launch("main", LauncherFixture.agent());
    assertEquals(List.of(container.id()), runtime.startedAttached);
    assertEquals(List.of(), runtime.startedUnattached);
    assertTrue(container.isActive());
  }

  @Test
  void launch_whenTheStartFails_removesTheContainerAndItsRules() throws Exception {
    runtime.failStart = true;
    LaunchException e =
        assertThrows(LaunchException.class, () -> launcher.launch("main", LauncherFixture.agent()));
    assertTrue(e.getMessage().contains("no such image"), e.getMessage());
    assertEquals(runtime.startedAttached, runtime.stopped);
    assertEquals(List.of(), enforcer.attachments());
    assertEquals(1, fixture.events(LauncherEvent.LaunchFailed.class).size());
  }

  @Test
  void launch_whenTheContainerStartsAtAnotherAddress_removesItAndItsRules() throws Exception {
    runtime.addressAtStart = "10.213.0.99";
    LaunchException e =
        assertThrows(LaunchException.class, () -> launcher.launch("main", LauncherFixture.agent()));
    assertTrue(e.getMessage().contains("[10.213.0.99]"), e.getMessage());
    assertEquals(runtime.startedAttached, runtime.stopped);
    assertEquals(List.of(), enforcer.attachments());
  }
}
