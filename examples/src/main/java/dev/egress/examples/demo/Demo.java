package dev.egress.examples.demo;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.lab.DnsAnswer;
import dev.egress.lab.LabContainer;
import dev.egress.lab.LabNames;
import dev.egress.lab.LabProcess;
import dev.egress.lab.NetnsLab;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.Flow;
import dev.egress.policy.HostName;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.Resolutions;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.stream.Collectors;

/**
 * The README's first command: on Linux as root, builds a network lab (a container namespace, a host
 * that routes and filters, a small "internet" with its own DNS), attaches a NanoClaw-like policy
 * ({@code dns filter}) with the nftables enforcer and its DNS filter ({@link LabHost}, in the lab's
 * host namespace), prints a table of real probes (destination, expected by the policy's own
 * decision function and the filter's documented semantics, actual), detaches, cleans up, and exits
 * 0 only if every probe matched. Anywhere else it prints the nftables script it would load and says
 * why it did not.
 *
 * <p>All names resolve only through the lab's DNS; no packet leaves the lab's namespaces.
 */
public final class Demo {
  static final String API = "api.anthropic.com";
  static final String NPM = "registry.npmjs.org";
  static final String WILDCARD_SUFFIX = "githubusercontent.com";
  static final String WILDCARD_NAME = "raw." + WILDCARD_SUFFIX;

  /** The filter's address in the lab: on the host's loopback, routed to from every container. */
  static final InetAddress LAB_FILTER = IpAddresses.parse("10.76.0.53");

  /**
   * The names the DNS rows ask the filter for, in order: what the filter grants widens the
   * wildcard's set, so these rows come after the TCP ones.
   */
  static final List<String> DNS_ROWS = List.of(API, WILDCARD_NAME, WILDCARD_SUFFIX, NPM);

  /** The names the DNS rows ask another resolver for, which the rules redirect to the filter. */
  static final List<String> REDIRECTED_DNS_ROWS = List.of(API, NPM);

  static final int PROXY_PORT = 3001;
  static final int SSH_LIKE_PORT = 2222;

  private Demo() {}

  /** Runs the demo; the exit status is 0 only if every probe matched its expectation. */
  public static void main(String[] args) {
    int status;
    try {
      status = run(System.out);
    } catch (IOException | EgressException | RuntimeException e) {
      System.err.println("demo failed: " + e.getMessage());
      status = 2;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      status = 2;
    }
    System.exit(status);
  }

  /**
   * The policy a NanoClaw agent container gets: the Anthropic API, raw files from GitHub (any name
   * under {@value #WILDCARD_SUFFIX}), the credential proxy, and the DNS filter as its only
   * resolver.
   */
  static EgressPolicy nanoClawLike() {
    return EgressPolicy.builder()
        .allowTcp(Destination.host(API), 443)
        .allowTcp(Destination.host("*." + WILDCARD_SUFFIX), 443)
        .allowTcp(Destination.gateway(), PROXY_PORT)
        .dns(DnsRule.filter())
        .logDenied(true)
        .build();
  }

  static int run(PrintStream out) throws IOException, EgressException, InterruptedException {
    return run(out, true);
  }

  /**
   * @param docker whether to use real Docker containers where a Docker daemon answers
   */
  static int run(PrintStream out, boolean docker)
      throws IOException, EgressException, InterruptedException {
    EgressPolicy policy = nanoClawLike();
    out.println("Policy (NanoClaw-like):");
    out.print(policy.toString().indent(2));
    Optional<String> unavailable = NetnsLab.unavailableReason("nft", "conntrack", "tcpdump");
    if (unavailable.isPresent()) {
      printDryRun(out, policy, unavailable.get());
      return 0;
    }
    if (docker) {
      Optional<String> noDocker = DockerDemo.unavailableReason();
      if (noDocker.isEmpty()) {
        out.println();
        out.println("Docker is available: probing a real Docker container.");
        return DockerDemo.run(out, policy);
      }
      out.println();
      out.println(
          "Not using Docker ("
              + noDocker.get()
              + "): probing a container namespace in a network lab instead.");
    }
    try (NetnsLab lab = NetnsLab.start(2)) {
      return runInLab(out, lab, policy);
    }
  }

  /** The lab's DNS records the demo's policy needs. */
  static void setNames(LabNames names) throws IOException {
    names.set(API, Duration.ofSeconds(30), NetnsLab.web(0), NetnsLab.webV6(0));
    names.set(NPM, Duration.ofSeconds(30), NetnsLab.web(1));
    names.set(WILDCARD_NAME, Duration.ofSeconds(30), NetnsLab.web(2));
    names.set(WILDCARD_SUFFIX, Duration.ofSeconds(30), NetnsLab.web(2));
  }

  /** A TCP destination of the probe table. */
  record Target(String description, InetAddress address, int port) {}

  /** The TCP destinations probed, the host services on {@code gateway} included. */
  static List<Target> tcpTargets(InetAddress gateway) {
    return List.of(
        new Target(API + ":443", NetnsLab.web(0), 443),
        new Target("[" + API + "]:443 over IPv6", NetnsLab.webV6(0), 443),
        new Target(API + ":80", NetnsLab.web(0), 80),
        new Target(NPM + ":443", NetnsLab.web(1), 443),
        new Target("other host :443", NetnsLab.web(2), 443),
        new Target("gateway credential proxy :" + PROXY_PORT, gateway, PROXY_PORT),
        new Target("gateway :" + SSH_LIKE_PORT + " (host service)", gateway, SSH_LIKE_PORT));
  }

  private static void printDryRun(PrintStream out, EgressPolicy policy, String why)
      throws EgressException {
    out.println();
    out.println("Not enforcing here: " + why + ".");
    out.println("On Linux as root this demo builds a network-namespace lab and probes it.");
    out.println("The nftables script it would load for a container at 172.17.0.2 (Docker's");
    out.println("default bridge), with api.anthropic.com resolving to 192.0.2.10 and the DNS");
    out.println("filter on 172.17.0.1:");
    out.println();
    ContainerEndpoint container =
        new ContainerEndpoint(
            ContainerId.of("agent-1"),
            List.of(IpAddresses.parse("172.17.0.2")),
            IpAddresses.parse("172.17.0.1"));
    Resolutions resolutions =
        new Resolutions(Map.of(HostName.of(API), Set.of(IpAddresses.parse("192.0.2.10"))));
    try (NftEgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(NameResolver.fixed(resolutions))
            .dnsFilter(IpAddresses.parse("172.17.0.1"))
            .guard(
                new NftGuard(List.of("docker0"), List.of(IpNetwork.parse("172.17.0.0/16")), true))
            .build()) {
      out.print(enforcer.preview(container, policy).ruleset());
    }
  }

  /** One row of the table: what is probed, whether the policy allows it, and the probe. */
  record Probe(String description, boolean expected, Reach action) {}

  /** Sends the probe's packets; true if they got through. */
  @FunctionalInterface
  interface Reach {
    boolean reached() throws Exception;
  }

  private static int runInLab(PrintStream out, NetnsLab lab, EgressPolicy policy)
      throws IOException, InterruptedException {
    setNames(lab.names());
    LabContainer agent = lab.container(1);
    LabContainer unattached = lab.container(2);
    out.println();
    out.println(
        "Lab: container "
            + agent
            + " behind gateway "
            + IpAddresses.format(lab.gateway())
            + "; DNS filter on "
            + IpAddresses.format(LAB_FILTER)
            + " in the host namespace, its upstream the lab's DNS "
            + IpAddresses.format(NetnsLab.dnsServer())
            + "; "
            + API
            + " -> "
            + IpAddresses.format(NetnsLab.web(0))
            + ", "
            + IpAddresses.format(NetnsLab.webV6(0))
            + "; "
            + WILDCARD_NAME
            + " -> "
            + IpAddresses.format(NetnsLab.web(2))
            + "; "
            + NPM
            + " -> "
            + IpAddresses.format(NetnsLab.web(1))
            + " (lab DNS only)");
    lab.exec(
        lab.hostNamespace(),
        "ip",
        "address",
        "add",
        IpAddresses.format(LAB_FILTER) + "/32",
        "dev",
        "lo");
    try (LabProcess host =
        LabProcess.startInHost(
            lab,
            LabHost.class.getName(),
            IpAddresses.format(LAB_FILTER),
            lab.containerNetworks().stream()
                .map(IpNetwork::toString)
                .collect(Collectors.joining(",")))) {
      String attached =
          host.ask(
              "attach "
                  + agent.id()
                  + " "
                  + IpAddresses.format(agent.ipv4())
                  + " "
                  + IpAddresses.format(agent.ipv6())
                  + " "
                  + IpAddresses.format(lab.gateway()));
      if (!attached.startsWith("attached ")) {
        throw new IOException("attach: unexpected answer " + attached);
      }
      out.printf(
          "Attached in %s ms (the first attach also loads the table: two nft transactions).%n",
          attached.substring("attached ".length()));
      // The exact names' sets hold what the enforcer resolved itself; wildcards start empty.
      Resolutions resolutions = lab.names().resolve(policy.hostNames());
      InetAddress gateway = lab.gateway();
      List<Probe> probes = new ArrayList<>();
      for (Target target : tcpTargets(gateway)) {
        probes.add(
            new Probe(
                "tcp " + target.description(),
                policy.permits(
                    Flow.tcp(target.address(), target.port()), gateway, LAB_FILTER, resolutions),
                () -> agent.tcp(target.address(), target.port()).reached()));
      }
      probes.add(
          new Probe(
              "udp " + API + ":7000",
              policy.permits(
                  Flow.udp(NetnsLab.web(0), NetnsLab.UDP_PORT), gateway, LAB_FILTER, resolutions),
              () -> agent.udp(NetnsLab.web(0), NetnsLab.UDP_PORT).reached()));
      probes.add(new Probe("icmp echo " + API, false, () -> agent.ping(NetnsLab.web(0)).reached()));
      NameProbing probing =
          new NameProbing() {
            @Override
            public DnsAnswer resolve(InetAddress server, String name) {
              return agent.resolve(server, name);
            }

            @Override
            public boolean tcp(InetAddress address, int port) {
              return agent.tcp(address, port).reached();
            }

            @Override
            public int upstreamQueries(String name) throws IOException {
              return lab.internetDnsQueries(name);
            }
          };
      for (String name : DNS_ROWS) {
        probes.add(lookupProbe(policy, gateway, LAB_FILTER, LAB_FILTER, name, probing));
      }
      for (String name : REDIRECTED_DNS_ROWS) {
        probes.add(
            lookupProbe(policy, gateway, LAB_FILTER, NetnsLab.otherDnsServer(), name, probing));
      }
      probes.add(
          new Probe(
              "unattached container -> " + API + ":443",
              false,
              () -> unattached.tcp(NetnsLab.web(0), 443).reached()));
      printDnsLegend(out);
      int mismatches = printTable(out, "attached", probes);

      host.ask("detach");
      List<Probe> after =
          List.of(
              new Probe(
                  "after detach: " + API + ":443",
                  false,
                  () -> agent.tcp(NetnsLab.web(0), 443).reached()));
      mismatches += printTable(out, "detached", after);
      // NFLOG hands packets over in batches, at the latest after a second: wait for the last.
      Thread.sleep(2000);
      List<String> records = host.askLines("records");
      out.println();
      out.println("The audit trail recorded " + records.size() + " refused packets:");
      records.forEach(out::println);
      out.println();
      out.println(
          mismatches == 0
              ? "All probes matched the policy. Lab removed."
              : mismatches + " probe(s) did not match the policy. Lab removed.");
      return mismatches == 0 ? 0 : 1;
    }
  }

  /** The lab's DNS record of {@code name}, as {@link #setNames} sets it. */
  private static InetAddress recordOf(String name) {
    switch (name) {
      case API:
        return NetnsLab.web(0);
      case NPM:
        return NetnsLab.web(1);
      case WILDCARD_NAME:
      case WILDCARD_SUFFIX:
        return NetnsLab.web(2);
      default:
        throw new IllegalArgumentException("no lab record for " + name);
    }
  }

  /** What the DNS rows of a probe table mean. */
  static void printDnsLegend(PrintStream out) {
    out.println();
    out.println(
        "dns NAME + tcp 443: the container asks the filter for NAME and connects to the answer;");
    out.println(
        "refused means NXDOMAIN with no query reaching the upstream DNS. @ADDRESS: asked another");
    out.println("resolver, which the rules redirect to the filter.");
  }

  /** What a DNS row needs from wherever its container runs. */
  interface NameProbing {
    /** The container asks {@code server} for the A records of {@code name}. */
    DnsAnswer resolve(InetAddress server, String name) throws Exception;

    /** Whether a TCP connection from the container opened. */
    boolean tcp(InetAddress address, int port) throws Exception;

    /** How many queries for {@code name} the filter's upstream has received so far. */
    int upstreamQueries(String name) throws Exception;
  }

  /**
   * A row that asks {@code server} for {@code name} from the container and connects to the answer
   * on port 443. Expected allowed when the filter answers the name (an allow line covers it) and
   * the policy then lets the connection through (the filter grants the answer to the covering
   * names' sets); otherwise refused, which the filter's semantics make NXDOMAIN with no query
   * upstream. A port-53 query to any other server is redirected to the filter, so it gets the same
   * verdict. Seen as allowed: the record's address answered, and a connection to it; as refused:
   * NXDOMAIN with no query reaching the upstream DNS servers; anything else fails the row.
   */
  static Probe lookupProbe(
      EgressPolicy policy,
      InetAddress gateway,
      InetAddress filter,
      InetAddress server,
      String name,
      NameProbing probing) {
    SortedSet<HostName> covering = policy.namesCovering(HostName.of(name));
    InetAddress address = recordOf(name);
    Map<HostName, Set<InetAddress>> granted = new HashMap<>();
    covering.forEach(host -> granted.put(host, Set.of(address)));
    boolean expected =
        !covering.isEmpty()
            && policy.permits(Flow.tcp(address, 443), gateway, filter, new Resolutions(granted));
    String via = server.equals(filter) ? "" : " @" + IpAddresses.format(server);
    return new Probe(
        "dns " + name + via + " + tcp 443",
        expected,
        () -> {
          int before = probing.upstreamQueries(name);
          DnsAnswer answer = probing.resolve(server, name);
          int upstream = probing.upstreamQueries(name) - before;
          if ("NXDOMAIN".equals(answer.rcode()) && upstream == 0) {
            return false;
          }
          if ("NOERROR".equals(answer.rcode())
              && answer.addresses().equals(List.of(address))
              && probing.tcp(address, 443)) {
            return true;
          }
          throw new IOException(
              "got " + answer + " with " + upstream + " upstream queries, and no connection");
        });
  }

  static int printTable(PrintStream out, String phase, List<Probe> probes)
      throws InterruptedException {
    out.println();
    out.printf("%-46s %-9s %-9s%n", "destination (" + phase + ")", "expected", "actual");
    int mismatches = 0;
    for (Probe probe : probes) {
      boolean reached;
      try {
        reached = probe.action().reached();
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        // A probe that could not run proves nothing: reported as a mismatch either way.
        out.println("  probe failed: " + e.getMessage());
        mismatches++;
        continue;
      }
      boolean match = reached == probe.expected();
      mismatches += match ? 0 : 1;
      out.printf(
          "%-46s %-9s %-9s%s%n",
          probe.description(), word(probe.expected()), word(reached), match ? "" : "  MISMATCH");
    }
    return mismatches;
  }

  private static String word(boolean allowed) {
    return allowed ? "allowed" : "refused";
  }
}
