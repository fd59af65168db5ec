package dev.egress.examples.demo;

import dev.egress.container.DockerEngine;
import dev.egress.enforcer.EgressException;
import dev.egress.examples.launcher.ContainerNetwork;
import dev.egress.examples.launcher.LaunchException;
import dev.egress.examples.launcher.Launcher;
import dev.egress.examples.launcher.ManagedContainer;
import dev.egress.examples.launcher.PolicyRegistry;
import dev.egress.lab.HostUplink;
import dev.egress.lab.NetnsLab;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import dev.egress.policy.Resolutions;
import dev.egress.process.Command;
import dev.egress.process.ProcessRunner;
import dev.egress.process.SystemProcessRunner;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The demo on real Docker: the launcher creates a container from the test image on a managed
 * network, attaches the policy with the nftables enforcer before {@code docker start}, and the
 * probes are real packets sent from inside the container ({@code docker exec}) to a {@link
 * HostUplink}'s servers and to listeners on the network's gateway. Everything it creates is named
 * {@code egress-demo...} and removed at the end.
 */
final class DockerDemo {
  static final String IMAGE = "egress-test/busybox:1";
  private static final String NETWORK = "egress-demo-net";
  private static final String BRIDGE = "egressdemo0";
  private static final String TABLE = "egress_demo";
  private static final IpNetwork SUBNET = IpNetwork.parse("10.212.0.0/24");
  private static final IpNetwork SUBNET6 = IpNetwork.parse("fd00:212::/64");
  private static final InetAddress GATEWAY = IpAddresses.parse("10.212.0.1");
  private static final ProcessRunner PROCESSES = new SystemProcessRunner();

  private DockerDemo() {}

  /** Why the demo cannot use Docker here, or empty when it can. */
  static Optional<String> unavailableReason() throws InterruptedException {
    Optional<String> lab = NetnsLab.unavailableReason("nft", "conntrack", "docker");
    if (lab.isPresent()) {
      return lab;
    }
    if (!succeeds("docker", "info")) {
      return Optional.of("no Docker daemon answers (scripts/start-docker starts one)");
    }
    if (!succeeds("docker", "image", "inspect", IMAGE)) {
      return Optional.of(
          "the image " + IMAGE + " is missing (scripts/docker-test-image builds it)");
    }
    return Optional.empty();
  }

  static int run(PrintStream out, EgressPolicy policy)
      throws IOException, EgressException, InterruptedException {
    Path policies = Files.createTempDirectory("egress-demo-policies");
    Files.writeString(policies.resolve("agent" + PolicyRegistry.SUFFIX), PolicyText.format(policy));
    DockerEngine docker =
        new DockerEngine(DockerEngine.DEFAULT_SOCKET, Duration.ofSeconds(60), BRIDGE);
    try (HostUplink uplink = HostUplink.start();
        NftEgressEnforcer enforcer =
            NftEgressEnforcer.builder()
                .resolver(uplink.names())
                .table(TABLE)
                .guard(new NftGuard(List.of(BRIDGE), List.of(SUBNET, SUBNET6), true))
                .build()) {
      Demo.setNames(uplink.names());
      Launcher launcher =
          Launcher.builder(docker, enforcer, PolicyRegistry.load(policies))
              .image(IMAGE)
              .namePrefix("egress-demo")
              .managedNetwork(new ContainerNetwork(NETWORK, SUBNET, SUBNET6))
              .containerDns(List.of(NetnsLab.dnsServer()))
              .build();
      try (launcher) {
        launcher.start();
        return probe(out, launcher, docker, uplink, policy);
      } catch (LaunchException e) {
        throw new IOException(e.getMessage(), e);
      }
    } finally {
      succeeds("docker", "network", "rm", NETWORK);
      succeeds("nft", "delete", "table", "inet", TABLE);
      Files.deleteIfExists(policies.resolve("agent" + PolicyRegistry.SUFFIX));
      Files.deleteIfExists(policies);
    }
  }

  private static int probe(
      PrintStream out,
      Launcher launcher,
      DockerEngine docker,
      HostUplink uplink,
      EgressPolicy policy)
      throws IOException, LaunchException, InterruptedException {
    try (TcpListener proxy = new TcpListener(GATEWAY, Demo.PROXY_PORT);
        TcpListener ssh = new TcpListener(GATEWAY, Demo.SSH_LIKE_PORT)) {
      long start = System.nanoTime();
      ManagedContainer agent =
          launcher.launch(
              "agent",
              spec ->
                  spec.command(
                      List.of("sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done")));
      out.printf(
          "%nDocker container %s at %s on network %s (bridge %s), launched in %d ms:"
              + " docker create, attach, docker start.%n",
          agent.id(),
          agent.endpoint().addresses().stream().map(IpAddresses::format).toList(),
          NETWORK,
          BRIDGE,
          (System.nanoTime() - start) / 1_000_000);
      BusyboxProbes probes = new BusyboxProbes(docker, uplink);
      String id = agent.id();
      Resolutions resolutions = uplink.names().resolve(policy.hostNames());
      List<Demo.Probe> table = new ArrayList<>();
      for (Demo.Target target : Demo.tcpTargets(GATEWAY)) {
        table.add(
            new Demo.Probe(
                "tcp " + target.description(),
                policy.permits(Flow.tcp(target.address(), target.port()), GATEWAY, resolutions),
                () -> probes.tcp(id, target.address(), target.port())));
      }
      table.add(
          new Demo.Probe(
              "udp " + Demo.API + ":" + NetnsLab.UDP_PORT,
              policy.permits(Flow.udp(NetnsLab.web(0), NetnsLab.UDP_PORT), GATEWAY, resolutions),
              () -> probes.udp(id, NetnsLab.web(0), NetnsLab.UDP_PORT)));
      table.add(
          new Demo.Probe("icmp echo " + Demo.API, false, () -> probes.ping(id, NetnsLab.web(0))));
      table.add(
          new Demo.Probe(
              "dns query to the policy's resolver",
              policy.permits(Flow.udp(NetnsLab.dnsServer(), 53), GATEWAY, resolutions),
              () -> probes.lookup(id, Demo.API, NetnsLab.dnsServer(), NetnsLab.web(0))));
      table.add(
          new Demo.Probe(
              "dns query to another resolver",
              policy.permits(Flow.udp(NetnsLab.otherDnsServer(), 53), GATEWAY, resolutions),
              () -> probes.lookup(id, Demo.API, NetnsLab.otherDnsServer(), NetnsLab.web(0))));
      table.add(
          new Demo.Probe(
              "dns via Docker's embedded resolver (--dns)",
              true,
              () -> probes.lookup(id, Demo.API, null, NetnsLab.web(0))));
      int mismatches = Demo.printTable(out, "docker", table);
      agent.stop();
      out.println();
      out.println(
          mismatches == 0
              ? "All probes matched the policy. Container, network and rules removed."
              : mismatches
                  + " probe(s) did not match the policy. Container, network and rules removed.");
      return mismatches == 0 ? 0 : 1;
    }
  }

  private static boolean succeeds(String... command) throws InterruptedException {
    try {
      return PROCESSES.run(new Command(List.of(command), "", Duration.ofSeconds(30))).succeeded();
    } catch (IOException e) {
      return false;
    }
  }
}
