package dev.egress.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.egress.daemon.service.HostedEnforcer;
import dev.egress.daemon.wire.EventJson;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.RuleSetName;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.InMemoryEgressEnforcer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * An egressd in this process, over the in-memory enforcer of the testkit, with its socket, state
 * file and policy directory in a test's directory. Everything but the packet filter is real: the
 * socket, the peer check, the protocol, the state file.
 */
public final class TestDaemon implements AutoCloseable {
  /** The JVM options egressd's service files and launcher run it with (for the benchmark). */
  public static final List<String> JAVA_OPTIONS = ServiceFile.JAVA_OPTIONS;

  final Path directory;
  final Path socket;
  final Path policies;
  final Path stateFile;
  final InMemoryEgressEnforcer enforcer;
  final Daemon daemon;

  private TestDaemon(Path directory, InMemoryEgressEnforcer enforcer, Daemon daemon) {
    this.directory = directory;
    this.socket = directory.resolve("run/egressd.sock");
    this.policies = directory.resolve("policies");
    this.stateFile = directory.resolve("run/state.json");
    this.enforcer = enforcer;
    this.daemon = daemon;
  }

  /** The settings every test daemon has; {@code extra} lines are added (or replace defaults). */
  static String config(Path directory, String extra) {
    return "managed-network 10.213.0.0/24\n"
        + "policy-directory "
        + directory.resolve("policies")
        + "\n"
        + "socket "
        + directory.resolve("run/egressd.sock")
        + "\n"
        + (extra.contains("state-file")
            ? ""
            : "state-file " + directory.resolve("run/state.json") + "\n")
        + (extra.contains("allow-") ? "" : "allow-users " + System.getProperty("user.name") + "\n")
        + (extra.contains("health-check-period") ? "" : "health-check-period off\n")
        + (extra.contains("policy-reload-period") ? "" : "policy-reload-period off\n")
        + extra;
  }

  public static TestDaemon start(Path directory) throws Exception {
    return start(directory, "", InMemoryEgressEnforcer.builder(), List::of);
  }

  static TestDaemon start(Path directory, String extraConfig) throws Exception {
    return start(directory, extraConfig, InMemoryEgressEnforcer.builder(), List::of);
  }

  /**
   * @param health what the hosted enforcer's health check finds
   */
  static TestDaemon start(
      Path directory,
      String extraConfig,
      InMemoryEgressEnforcer.Builder enforcer,
      Supplier<List<EgressEvent.DriftDetected>> health)
      throws Exception {
    Files.createDirectories(directory.resolve("policies"));
    DaemonConfig config = ConfigText.parse(config(directory, extraConfig), "test.conf");
    List<InMemoryEgressEnforcer> built = new ArrayList<>();
    Daemon daemon =
        Daemon.start(
            config,
            events -> {
              InMemoryEgressEnforcer fake =
                  enforcer
                      .resolver(new FakeNameResolver())
                      .listener(event -> events.accept(EventJson.of(event, TestDaemon::ruleSet)))
                      .build();
              built.add(fake);
              return hosted(fake, health);
            },
            Clock.systemUTC());
    return new TestDaemon(directory, built.get(0), daemon);
  }

  static HostedEnforcer hosted(
      EgressEnforcer enforcer, Supplier<List<EgressEvent.DriftDetected>> health) {
    return new HostedEnforcer(
        enforcer, "nftables", TestDaemon::ruleSet, health, List::of, () -> {}, () -> {});
  }

  /** A rule-set name of the tests' own backend-less enforcers. */
  public record TestRuleSet(String value) implements RuleSetName {
    @Override
    public String toString() {
      return value;
    }
  }

  /** The fake's rule-set names: {@code mem-ID}. */
  static RuleSetName ruleSet(ContainerId id) {
    return new TestRuleSet("mem-" + id.value().replaceAll("[^A-Za-z0-9_.-]", "_"));
  }

  void writePolicy(String name, String text) throws IOException {
    Files.writeString(policies.resolve(name + ".policy"), text);
  }

  LineClient connect() throws IOException {
    return LineClient.connect(socket);
  }

  /** One request on a connection of its own. */
  JsonNode request(String json) throws IOException {
    try (LineClient client = connect()) {
      return client.request(json);
    }
  }

  @Override
  public void close() {
    daemon.close();
  }
}
