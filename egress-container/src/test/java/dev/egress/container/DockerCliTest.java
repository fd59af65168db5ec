package dev.egress.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** DockerCli against a scripted docker: what it runs, and what it refuses. */
class DockerCliTest {
  private static final IpNetwork SUBNET = IpNetwork.parse("10.213.0.0/24");
  private static final IpNetwork SUBNET6 = IpNetwork.parse("fd00:213::/64");

  /** Answers each docker call by its arguments (after "docker") and records them. */
  private static final class ScriptedDocker implements ProcessRunner {
    final List<List<String>> calls = new ArrayList<>();
    private final Function<List<String>, ProcessResult> script;

    ScriptedDocker(Function<List<String>, ProcessResult> script) {
      this.script = script;
    }

    @Override
    public synchronized ProcessResult run(Command command) {
      List<String> args = command.argv().subList(1, command.argv().size());
      calls.add(List.copyOf(args));
      return script.apply(args);
    }

    List<String> call(String first) {
      return calls.stream().filter(c -> c.get(0).equals(first)).findFirst().orElseThrow();
    }
  }

  private static DockerCli docker(ScriptedDocker runner) {
    return new DockerCli(runner, "docker", Duration.ofSeconds(5), "egress0");
  }

  private static ProcessResult ok(String out) {
    return new ProcessResult(0, out, "");
  }

  private static final String NO_NETWORK = "Error: No such network: managed";

  /**
   * A docker with no network yet, that lists {@code addressesInUse} as the address labels of its
   * containers and answers every other call with success and {@code otherwise}.
   */
  private static ScriptedDocker dockerWith(String addressesInUse, String otherwise) {
    return new ScriptedDocker(
        args ->
            switch (args.get(0)) {
              case "network" ->
                  args.get(1).equals("inspect") ? new ProcessResult(1, "", NO_NETWORK) : ok("");
              case "ps" -> ok(addressesInUse);
              default -> ok(otherwise);
            });
  }

  @Test
  void ensureNetwork_createsAMissingOneWithItsSubnetsGatewaysAndBridgeName() throws Exception {
    ScriptedDocker runner =
        new ScriptedDocker(
            args ->
                args.get(1).equals("inspect")
                    ? new ProcessResult(1, "[]", NO_NETWORK)
                    : ok("id\n"));
    docker(runner).ensureNetwork("managed", SUBNET, SUBNET6);
    assertEquals(
        List.of(
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            "10.213.0.0/24",
            "--gateway",
            "10.213.0.1",
            "--ipv6",
            "--subnet",
            "fd00:213::/64",
            "--gateway",
            "fd00:213::1",
            "-o",
            "com.docker.network.bridge.name=egress0",
            "managed"),
        runner.calls.get(1));
  }

  @Test
  void ensureNetwork_refusesAnExistingOneWithAnotherSubnetOrBridge() {
    String other =
        "[{\"IPAM\":{\"Config\":[{\"Subnet\":\"10.9.0.0/24\",\"Gateway\":\"10.9.0.1\"}]},"
            + "\"Options\":{\"com.docker.network.bridge.name\":\"egress0\"}}]";
    String otherBridge =
        "[{\"IPAM\":{\"Config\":[{\"Subnet\":\"10.213.0.0/24\"}]},"
            + "\"Options\":{\"com.docker.network.bridge.name\":\"docker9\"}}]";
    for (String existing : List.of(other, otherBridge)) {
      ScriptedDocker runner = new ScriptedDocker(args -> ok(existing));
      ContainerCliException e =
          assertThrows(
              ContainerCliException.class,
              () -> docker(runner).ensureNetwork("managed", SUBNET, null));
      assertTrue(e.getMessage().contains("docker network rm managed"), e.getMessage());
    }
  }

  @Test
  void create_takesTheLowestAddressNoContainerUses_andPinsBothFamilies() throws Exception {
    ScriptedDocker runner = dockerWith("10.213.0.2\n10.213.0.3\n10.213.0.5\n", "");
    DockerCli docker = docker(runner);
    docker.ensureNetwork("managed", SUBNET, SUBNET6);
    docker.create(
        ContainerRunSpec.builder("agent-1", "img:1")
            .network("managed")
            .dns(IpAddresses.parse("10.99.0.53"))
            .command(List.of("sleep", "1"))
            .build());
    List<String> create = runner.call("create");
    assertEquals(
        List.of(
            "create",
            "--rm",
            "--name",
            "agent-1",
            "--label",
            "dev.egress.address=10.213.0.4",
            "--network",
            "managed",
            "--ip",
            "10.213.0.4",
            "--ip6",
            "fd00:213::4",
            "--dns",
            "10.99.0.53",
            "img:1",
            "sleep",
            "1"),
        create);
  }

  @Test
  void create_whenEveryAddressIsTaken_refusesWithoutCallingCreate() throws Exception {
    StringBuilder all = new StringBuilder();
    for (int i = 2; i < 7; i++) {
      all.append("10.213.0.").append(i).append('\n');
    }
    ScriptedDocker runner = dockerWith(all.toString(), "");
    DockerCli docker = docker(runner);
    docker.ensureNetwork("managed", IpNetwork.parse("10.213.0.0/29"), null);
    ContainerRunSpec spec = ContainerRunSpec.builder("agent-1", "img:1").network("managed").build();
    ContainerCliException e = assertThrows(ContainerCliException.class, () -> docker.create(spec));
    assertTrue(e.getMessage().contains("no free address"), e.getMessage());
    assertTrue(runner.calls.stream().noneMatch(c -> c.get(0).equals("create")));
  }

  @Test
  void create_beforeEnsureNetwork_isRefused() {
    DockerCli docker = docker(new ScriptedDocker(args -> ok("")));
    ContainerRunSpec spec = ContainerRunSpec.builder("agent-1", "img:1").network("managed").build();
    assertThrows(IllegalStateException.class, () -> docker.create(spec));
  }

  @Test
  void inspect_ofACreatedContainer_reportsItsPinnedAddresses_andTheNetworkGateway()
      throws Exception {
    String created =
        "[{\"Name\":\"/agent-1\",\"State\":{\"Status\":\"created\"},\"Config\":{\"Labels\":{}},"
            + "\"NetworkSettings\":{\"Networks\":{\"managed\":{\"IPAMConfig\":"
            + "{\"IPv4Address\":\"10.213.0.4\",\"IPv6Address\":\"fd00:213::4\"},"
            + "\"IPAddress\":\"\",\"Gateway\":\"\",\"GlobalIPv6Address\":\"\"}}}}]";
    ScriptedDocker runner = dockerWith("", created);
    DockerCli docker = docker(runner);
    docker.ensureNetwork("managed", SUBNET, SUBNET6);
    ContainerInfo info = docker.inspect("agent-1").orElseThrow();
    assertEquals("created", info.state());
    assertEquals(
        List.of(IpAddresses.parse("10.213.0.4"), IpAddresses.parse("fd00:213::4")),
        info.addresses());
    assertEquals(IpAddresses.parse("10.213.0.1"), info.gateway().orElseThrow());
  }

  @Test
  void stop_ofAContainerAlreadyGone_succeeds_butAFailedStopOfARunningOneThrows() throws Exception {
    ScriptedDocker gone =
        new ScriptedDocker(args -> new ProcessResult(1, "", "Error: No such container: x"));
    docker(gone).stop("x");
    ScriptedDocker stuck =
        new ScriptedDocker(args -> new ProcessResult(1, "", "Error: cannot stop: permission"));
    assertThrows(ContainerCliException.class, () -> docker(stuck).stop("x"));
  }
}
