package dev.egress.examples.launcher;

import dev.egress.container.ContainerCli;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.Subject;
import dev.egress.policy.IpAddresses;
import dev.egress.process.ProcessRunner;
import dev.egress.testkit.InMemoryEgressEnforcer;
import dev.egress.testkit.container.FakeContainer;
import dev.egress.testkit.container.FakeContainerRunner;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** A fake container CLI, a policy directory and an event log, shared by the launcher tests. */
final class LauncherFixture {
  static final String MAIN_POLICY =
      "allow 192.0.2.10 port 443\nallow gateway port 3001\ndns gateway\n";
  static final SelfCheck.Probe DENIED = new SelfCheck.Probe(IpAddresses.parse("198.51.100.1"), 443);
  static final SelfCheck.Probe ALLOWED = new SelfCheck.Probe(IpAddresses.parse("192.0.2.10"), 443);

  final Path state;
  final Path policyDir;
  final List<LauncherEvent> events = new CopyOnWriteArrayList<>();

  LauncherFixture(Path root) throws IOException {
    state = Files.createDirectories(root.resolve("container-state"));
    policyDir = Files.createDirectories(root.resolve("policies"));
    writePolicy("main", MAIN_POLICY);
  }

  void writePolicy(String group, String text) throws IOException {
    Path file = policyDir.resolve(group + PolicyRegistry.SUFFIX);
    Path temp = policyDir.resolve(group + ".tmp");
    Files.writeString(temp, text, StandardCharsets.UTF_8);
    Files.move(temp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  ContainerCli cli() {
    return cli(new FakeContainerRunner(state));
  }

  static ContainerCli cli(ProcessRunner runner) {
    return new ContainerCli(runner, "container", Duration.ofSeconds(30));
  }

  Launcher.Builder builder(EgressEnforcer enforcer) throws Exception {
    return builder(enforcer, cli());
  }

  Launcher.Builder builder(EgressEnforcer enforcer, ContainerCli cli) throws Exception {
    return Launcher.builder(cli, enforcer, PolicyRegistry.load(policyDir))
        .image("nanoclaw-agent:latest")
        // The fake's default network has no guard; tests of the refusal build without this.
        .acceptUnguardedStartupWindow()
        .pollInterval(Duration.ofMillis(1))
        .addressTimeout(Duration.ofSeconds(5))
        .clock(Clock.fixed(Instant.ofEpochMilli(1_700_000_000_000L), ZoneOffset.UTC))
        .listener(events::add);
  }

  Launcher started(EgressEnforcer enforcer, Consumer<Launcher.Builder> configure) throws Exception {
    Launcher.Builder builder = builder(enforcer);
    configure.accept(builder);
    Launcher launcher = builder.build();
    launcher.start();
    return launcher;
  }

  void script(Consumer<FakeContainer.Script> change) {
    FakeContainer.change(state, s -> change.accept(s.script));
  }

  FakeContainer.State fake() {
    return FakeContainer.read(state);
  }

  /** Ids of the containers the fake runs now. */
  List<String> running() {
    return fake().containers.values().stream()
        .filter(b -> b.state.equals("running"))
        .map(b -> b.id)
        .sorted()
        .toList();
  }

  List<String> calls(String prefix) {
    return fake().calls.stream().filter(c -> c.startsWith(prefix)).toList();
  }

  <T extends LauncherEvent> List<T> events(Class<T> type) {
    return events.stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** Work handed to containers (exec calls other than probes). */
  List<String> work() {
    return fake().containers.values().stream().flatMap(b -> b.work.stream()).toList();
  }

  /** Ids that have rules in place: active attachments and removals that failed. */
  static java.util.Set<String> ruleSets(InMemoryEgressEnforcer enforcer) {
    java.util.Set<String> ids = new java.util.TreeSet<>();
    // The in-memory enforcer removes only containers it attached.
    enforcer.pendingRemovals().forEach(r -> ids.add(((Subject.Container) r).id().value()));
    enforcer.attachments().forEach(a -> ids.add(a.container().id().value()));
    return ids;
  }

  static Consumer<dev.egress.container.ContainerRunSpec.Builder> agent() {
    return spec -> spec.env("TZ", "UTC").command(List.of("sleep", "infinity"));
  }
}
