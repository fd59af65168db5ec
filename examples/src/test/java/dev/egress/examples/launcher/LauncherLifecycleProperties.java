package dev.egress.examples.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.container.ContainerRunSpec;
import dev.egress.enforcer.Attachment;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import dev.egress.testkit.container.FakeContainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;

/**
 * Random launches, stops, container crashes, launcher crashes and policy reloads across groups.
 * After every step: every running container that has work is attached with its group's current
 * policy; every running managed container is attached (none runs unenforced); no rule set exists
 * for a container that does not run.
 */
class LauncherLifecycleProperties {
  private static final List<String> GROUPS = List.of("main", "docs", "ops");
  private static final List<String> POLICIES =
      List.of(
          "allow 192.0.2.10 port 443\nallow gateway port 3001\ndns gateway\n",
          "allow 203.0.113.0/24 port 443-444\ndns none\n",
          "allow 198.51.100.7 port 22\nlog denied\n",
          "allow nowhere.example port 44 3\n"); // invalid: the group then denies everything

  private final List<Path> roots = new java.util.concurrent.CopyOnWriteArrayList<>();

  @Property(tries = 40)
  void everyRunningContainerWithWorkIsAttachedWithItsGroupsCurrentPolicy(
      @ForAll("lifecycles") ActionChain<World> chain) {
    chain.withInvariant("enforced", World::checkInvariants).run();
  }

  @Provide
  Arbitrary<ActionChain<World>> lifecycles() {
    return ActionChain.startWith(() -> new World(newRoot()))
        .withAction(4, new Launch())
        .withAction(2, new Stop())
        .withAction(2, new ContainerCrash())
        .withAction(2, new Reload())
        .withAction(1, new LauncherCrash())
        .withMaxTransformations(25);
  }

  private Path newRoot() {
    try {
      Path root = Files.createTempDirectory("launcher-property");
      roots.add(root);
      return root;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @AfterProperty
  void deleteRoots() throws IOException {
    for (Path root : roots) {
      try (Stream<Path> files = Files.walk(root)) {
        for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(file);
        }
      }
    }
  }

  /** The system under test and what the test knows it should be. */
  static final class World {
    final InMemoryEgressEnforcer enforcer;
    final LauncherFixture fixture;
    final Map<String, String> policyTexts = new HashMap<>();
    Launcher launcher;

    World(Path root) {
      try {
        enforcer = InMemoryEgressEnforcer.builder().resolver(new FakeNameResolver()).build();
        fixture = new LauncherFixture(root);
        for (String group : GROUPS) {
          write(group, POLICIES.get(GROUPS.indexOf(group)));
        }
        launcher = fixture.started(enforcer, World::quickTimeouts);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    /** An address that never comes is given up on quickly: the property runs many such launches. */
    static void quickTimeouts(Launcher.Builder builder) {
      builder.addressTimeout(java.time.Duration.ofMillis(150));
    }

    void write(String group, String text) throws IOException {
      fixture.writePolicy(group, text);
      policyTexts.put(group, text);
    }

    EgressPolicy expectedPolicy(String group) {
      try {
        return PolicyText.parse(policyTexts.get(group), "model");
      } catch (PolicySyntaxException e) {
        return EgressPolicy.denyAll();
      }
    }

    void checkInvariants() {
      FakeContainer.State state = fixture.fake();
      Map<String, Attachment> attached =
          enforcer.attachments().stream()
              .filter(Attachment::isActive)
              .collect(Collectors.toMap(a -> a.container().id().value(), a -> a));
      Set<String> running =
          state.containers.values().stream()
              .filter(b -> b.state.equals("running"))
              .map(b -> b.id)
              .collect(Collectors.toSet());
      for (FakeContainer.Box box : state.containers.values()) {
        if (!box.state.equals("running")) {
          continue;
        }
        String group = box.labels.get(Launcher.GROUP_LABEL);
        Attachment attachment = attached.get(box.id);
        if (group != null) {
          assertTrue(attachment != null, box.id + " runs without its policy");
          assertEquals(expectedPolicy(group), attachment.policy(), box.id + " has a stale policy");
        }
        if (!box.work.isEmpty()) {
          assertTrue(attachment != null, box.id + " has work but no policy");
        }
      }
      for (String id : LauncherFixture.ruleSets(enforcer)) {
        assertTrue(running.contains(id), "rule set left for " + id + ", which does not run");
      }
    }
  }

  static final class Launch implements Action.Independent<World> {
    @Override
    public Arbitrary<Transformer<World>> transformer() {
      return Combinators.combine(
              Arbitraries.of(GROUPS),
              Arbitraries.of("ok", "ok", "ok", "attach-fails", "no-address", "slow-address"))
          .as(
              (group, outcome) ->
                  Transformer.mutate(
                      "launch " + group + " (" + outcome + ")",
                      world -> launch(world, group, outcome)));
    }

    private static void launch(World world, String group, String outcome) {
      world.fixture.script(
          s -> {
            s.neverGetsAddress = outcome.equals("no-address");
            s.inspectsWithoutAddress = outcome.equals("slow-address") ? 2 : 0;
          });
      // attach is the launch's first privileged enforcer operation
      world.enforcer.failNextOperations(outcome.equals("attach-fails") ? 1 : 0);
      try {
        if (outcome.equals("attach-fails") || outcome.equals("no-address")) {
          Launcher fast = world.launcher;
          assertThrows(LaunchException.class, () -> fast.launch(group, LauncherFixture.agent()));
        } else {
          ManagedContainer container = world.launcher.launch(group, LauncherFixture.agent());
          assertTrue(container.exec(List.of("agent-runner", "--group", group)).succeeded());
        }
      } catch (Exception e) {
        throw new AssertionError(e);
      } finally {
        world.enforcer.failNextOperations(0);
        world.fixture.script(
            s -> {
              s.neverGetsAddress = false;
              s.inspectsWithoutAddress = 0;
            });
      }
    }
  }

  static final class Stop implements Action.Dependent<World> {
    @Override
    public boolean precondition(World world) {
      return !world.launcher.containers().isEmpty();
    }

    @Override
    public Arbitrary<Transformer<World>> transformer(World world) {
      return Arbitraries.of(world.launcher.containers())
          .map(
              container ->
                  Transformer.mutate(
                      "stop " + container.id(),
                      w -> {
                        try {
                          container.stop();
                        } catch (Exception e) {
                          throw new AssertionError(e);
                        }
                      }));
    }
  }

  /** A container's process ends by itself; the launcher's periodic maintenance notices. */
  static final class ContainerCrash implements Action.Dependent<World> {
    @Override
    public boolean precondition(World world) {
      return !world.launcher.containers().isEmpty();
    }

    @Override
    public Arbitrary<Transformer<World>> transformer(World world) {
      return Arbitraries.of(world.launcher.containers())
          .map(
              container ->
                  Transformer.mutate(
                      "crash " + container.id(),
                      w -> {
                        FakeContainer.exit(w.fixture.state, container.id());
                        w.launcher.maintain();
                      }));
    }
  }

  static final class Reload implements Action.Independent<World> {
    @Override
    public Arbitrary<Transformer<World>> transformer() {
      return Combinators.combine(
              Arbitraries.of(GROUPS), Arbitraries.of(POLICIES), Arbitraries.of(false, false, true))
          .as(
              (group, text, updateFails) ->
                  Transformer.mutate(
                      "reload "
                          + group
                          + " with "
                          + text.replace('\n', ';')
                          + (updateFails ? " (enforcer update fails)" : ""),
                      world -> {
                        // the first update fails; that container is stopped and detached
                        world.enforcer.failNextOperations(updateFails ? 1 : 0);
                        try {
                          world.write(group, text);
                          world.launcher.reloadPolicies();
                        } catch (Exception e) {
                          throw new AssertionError(e);
                        } finally {
                          world.enforcer.failNextOperations(0);
                        }
                      }));
    }
  }

  /**
   * The launcher dies — possibly just after {@code container run}, before attach — and a new one
   * starts: start-up reconciliation must stop the orphans and remove their rule sets.
   */
  static final class LauncherCrash implements Action.Independent<World> {
    @Override
    public Arbitrary<Transformer<World>> transformer() {
      return Arbitraries.of(false, true)
          .map(
              midLaunch ->
                  Transformer.mutate(
                      "launcher crashes" + (midLaunch ? " mid-launch" : "") + " and restarts",
                      world -> {
                        try {
                          if (midLaunch) {
                            world
                                .fixture
                                .cli()
                                .runDetached(
                                    ContainerRunSpec.builder(
                                            "nanoclaw-main-" + System.nanoTime(),
                                            "nanoclaw-agent:latest")
                                        .label(Launcher.LAUNCHER_LABEL, "nanoclaw")
                                        .label(Launcher.GROUP_LABEL, "main")
                                        .build());
                          }
                          world.launcher =
                              world.fixture.started(world.enforcer, World::quickTimeouts);
                        } catch (Exception e) {
                          throw new AssertionError(e);
                        }
                      }));
    }
  }
}
