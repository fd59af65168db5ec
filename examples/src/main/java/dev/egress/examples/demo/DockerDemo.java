package dev.egress.examples.demo;

import dev.egress.container.ContainerCliException;
import dev.egress.container.DockerEngine;
import dev.egress.dns.DnsNameResolver;
import dev.egress.dns.filter.DnsFilter;
import dev.egress.enforcer.EgressException;
import dev.egress.examples.launcher.ContainerNetwork;
import dev.egress.examples.launcher.LaunchException;
import dev.egress.examples.launcher.Launcher;
import dev.egress.examples.launcher.ManagedContainer;
import dev.egress.examples.launcher.PolicyRegistry;
import dev.egress.lab.DnsAnswer;
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
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The demo on real Docker: the launcher creates a container from the test image on a managed
 * network, attaches the policy with the nftables enforcer before it starts, and the probes are real
 * packets sent from inside the container ({@code docker exec}) to a {@link HostUplink}'s servers
 * and to listeners on the network's gateway. The enforcer's DNS filter runs in this process on the
 * gateway address, the container is told to use it ({@code --dns}), and its upstream is the
 * uplink's DNS server. Everything it creates is named {@code egress-demo...} and removed at the
 * end.
 */
final class DockerDemo {
  static final String IMAGE = "egress-test/busybox:1";
  private static final String NETWORK = "egress-demo-net";
  private static final String BRIDGE = "egressdemo0";
  private static final String TABLE = "egress_demo";
  private static final IpNetwork SUBNET = IpNetwork.parse("10.212.0.0/24");
  private static final IpNetwork SUBNET6 = IpNetwork.parse("fd00:212::/64");
  private static final InetAddress GATEWAY = IpAddresses.parse("10.212.0.1");

  /**
   * The DNS filter's address: the bridge's gateway, which every container on the managed network
   * reaches and Docker gives the host when it creates the network.
   */
  private static final InetAddress FILTER = GATEWAY;

  /** Docker's embedded resolver, in every container on a user-defined network. */
  private static final InetAddress EMBEDDED_DNS = IpAddresses.parse("127.0.0.11");

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
        new DockerEngine(DockerEngine.DEFAULT_SOCKET, Duration.ofSeconds(60), BRIDGE, PROCESSES);
    try (HostUplink uplink = HostUplink.start();
        DnsNameResolver upstream =
            DnsNameResolver.builder()
                .servers(List.of(new InetSocketAddress(NetnsLab.dnsServer(), 53)))
                .build();
        NftEgressEnforcer enforcer =
            NftEgressEnforcer.builder()
                .resolver(upstream)
                .table(TABLE)
                .guard(new NftGuard(List.of(BRIDGE), List.of(SUBNET, SUBNET6), true))
                .dnsFilter(FILTER)
                .build()) {
      Demo.setNames(uplink.names());
      Launcher launcher =
          Launcher.builder(docker, enforcer, PolicyRegistry.load(policies))
              .image(IMAGE)
              .namePrefix("egress-demo")
              .managedNetwork(new ContainerNetwork(NETWORK, SUBNET, SUBNET6))
              // --dns: the enforcer's filter (EgressEnforcer.dnsFilter), the launcher's default
              .build();
      try (launcher) {
        launcher.start(); // creates the network, whose bridge holds the filter's address
        try (DnsFilter filter =
            DnsFilter.builder()
                .attachments(enforcer)
                .resolver(upstream)
                .listen(new InetSocketAddress(FILTER, 53))
                .start()) {
          return probe(out, launcher, docker, uplink, policy);
        }
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
              + " created, attached, started (Docker's Engine API). DNS filter on %s, the"
              + " bridge's gateway (the container's --dns), its upstream the uplink's DNS %s.%n",
          agent.id(),
          agent.endpoint().addresses().stream().map(IpAddresses::format).toList(),
          NETWORK,
          BRIDGE,
          (System.nanoTime() - start) / 1_000_000,
          IpAddresses.format(FILTER),
          IpAddresses.format(NetnsLab.dnsServer()));
      BusyboxProbes probes = new BusyboxProbes(docker, uplink);
      String id = agent.id();
      // The exact names' sets hold what the enforcer resolved itself; wildcards start empty.
      Resolutions resolutions = uplink.names().resolve(policy.hostNames());
      List<Demo.Probe> table = new ArrayList<>();
      for (Demo.Target target : Demo.tcpTargets(GATEWAY)) {
        table.add(
            new Demo.Probe(
                "tcp " + target.description(),
                policy.permits(
                    Flow.tcp(target.address(), target.port()), GATEWAY, FILTER, resolutions),
                () -> probes.tcp(id, target.address(), target.port())));
      }
      table.add(
          new Demo.Probe(
              "udp " + Demo.API + ":" + NetnsLab.UDP_PORT,
              policy.permits(
                  Flow.udp(NetnsLab.web(0), NetnsLab.UDP_PORT), GATEWAY, FILTER, resolutions),
              () -> probes.udp(id, NetnsLab.web(0), NetnsLab.UDP_PORT)));
      table.add(
          new Demo.Probe("icmp echo " + Demo.API, false, () -> probes.ping(id, NetnsLab.web(0))));
      Demo.NameProbing probing =
          new Demo.NameProbing() {
            @Override
            public DnsAnswer resolve(InetAddress server, String name)
                throws ContainerCliException, InterruptedException {
              return probes.resolve(id, server, name);
            }

            @Override
            public boolean tcp(InetAddress address, int port)
                throws ContainerCliException, InterruptedException {
              return probes.tcp(id, address, port);
            }

            @Override
            public int upstreamQueries(String name) throws IOException {
              return uplink.dnsQueries(name);
            }
          };
      for (String name : Demo.DNS_ROWS) {
        table.add(Demo.lookupProbe(policy, GATEWAY, FILTER, FILTER, name, probing));
      }
      for (String name : Demo.REDIRECTED_DNS_ROWS) {
        table.add(
            Demo.lookupProbe(policy, GATEWAY, FILTER, NetnsLab.otherDnsServer(), name, probing));
      }
      // Docker's embedded resolver, the container's own, forwards to --dns from its namespace.
      for (String name : Demo.REDIRECTED_DNS_ROWS) {
        table.add(Demo.lookupProbe(policy, GATEWAY, FILTER, EMBEDDED_DNS, name, probing));
      }
      Demo.printDnsLegend(out);
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
