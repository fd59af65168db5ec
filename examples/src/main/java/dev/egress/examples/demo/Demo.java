package dev.egress.examples.demo;

import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.NameResolver;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The README's first command: on Linux as root, builds a network lab (a container namespace, a host
 * that routes and filters, a small "internet" with its own DNS), attaches a NanoClaw-like policy
 * with the nftables enforcer, prints a table of real probes (destination, expected by the policy's
 * own decision function, actual), detaches, cleans up, and exits 0 only if every probe matched.
 * Anywhere else it prints the nftables script it would load and says why it did not.
 *
 * <p>All names resolve only through the lab's DNS; no packet leaves the lab's namespaces.
 */
public final class Demo {
  private static final String API = "api.anthropic.com";
  private static final String NPM = "registry.npmjs.org";
  private static final int PROXY_PORT = 3001;
  private static final int SSH_LIKE_PORT = 2222;

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

  /** The policy a NanoClaw agent container gets: the Anthropic API, the credential proxy, DNS. */
  static EgressPolicy nanoClawLike() {
    return EgressPolicy.builder()
        .allowTcp(Destination.host(API), 443)
        .allowTcp(Destination.gateway(), PROXY_PORT)
        .dns(DnsRule.servers(NetnsLab.dnsServer()))
        .logDenied(true)
        .build();
  }

  static int run(PrintStream out) throws IOException, EgressException, InterruptedException {
    EgressPolicy policy = nanoClawLike();
    out.println("Policy (NanoClaw-like):");
    out.print(policy.toString().indent(2));
    Optional<String> unavailable = NetnsLab.unavailableReason("nft", "conntrack");
    if (unavailable.isPresent()) {
      printDryRun(out, policy, unavailable.get());
      return 0;
    }
    try (NetnsLab lab = NetnsLab.start(2)) {
      return runInLab(out, lab, policy);
    }
  }

  private static void printDryRun(PrintStream out, EgressPolicy policy, String why)
      throws EgressException {
    out.println();
    out.println("Not enforcing here: " + why + ".");
    out.println("On Linux as root this demo builds a network-namespace lab and probes it.");
    out.println("The nftables script it would load for a container at 172.17.0.2 (Docker's");
    out.println("default bridge), with api.anthropic.com resolving to 192.0.2.10:");
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
            .guard(
                new NftGuard(List.of("docker0"), List.of(IpNetwork.parse("172.17.0.0/16")), true))
            .build()) {
      out.print(enforcer.preview(container, policy).ruleset());
    }
  }

  private record Probe(String description, boolean expected, Supplier<Outcome> action) {}

  private static int runInLab(PrintStream out, NetnsLab lab, EgressPolicy policy)
      throws IOException, EgressException, InterruptedException {
    lab.names().set(API, Duration.ofSeconds(30), NetnsLab.web(0), NetnsLab.webV6(0));
    lab.names().set(NPM, Duration.ofSeconds(30), NetnsLab.web(1));
    LabContainer agent = lab.container(1);
    LabContainer unattached = lab.container(2);
    out.println();
    out.println(
        "Lab: container "
            + agent
            + " behind gateway "
            + IpAddresses.format(lab.gateway())
            + "; "
            + API
            + " -> "
            + IpAddresses.format(NetnsLab.web(0))
            + ", "
            + IpAddresses.format(NetnsLab.webV6(0))
            + "; "
            + NPM
            + " -> "
            + IpAddresses.format(NetnsLab.web(1))
            + " (lab DNS only)");
    NftGuard guard = new NftGuard(List.of(NetnsLab.BRIDGE), lab.containerNetworks(), true);
    int mismatches;
    try (NftEgressEnforcer enforcer =
        NftEgressEnforcer.builder()
            .resolver(lab.names())
            .nftCommand(lab.inHost("nft"))
            .conntrackCommand(lab.inHost("conntrack"))
            .procNet(lab.hostProcNet())
            .guard(guard)
            .build()) {
      long start = System.nanoTime();
      Attachment attachment = enforcer.attach(agent.endpoint(), policy);
      out.printf(
          "Attached in %d ms (the first attach also loads the table: two nft transactions).%n",
          (System.nanoTime() - start) / 1_000_000);
      Resolutions resolutions = lab.names().resolve(policy.hostNames());
      InetAddress gateway = lab.gateway();
      List<Probe> probes = new ArrayList<>();
      tcp(probes, policy, resolutions, agent, API + ":443", NetnsLab.web(0), 443);
      tcp(
          probes,
          policy,
          resolutions,
          agent,
          "[" + API + "]:443 over IPv6",
          NetnsLab.webV6(0),
          443);
      tcp(probes, policy, resolutions, agent, API + ":80", NetnsLab.web(0), 80);
      tcp(probes, policy, resolutions, agent, NPM + ":443", NetnsLab.web(1), 443);
      tcp(probes, policy, resolutions, agent, "other host :443", NetnsLab.web(2), 443);
      tcp(
          probes,
          policy,
          resolutions,
          agent,
          "gateway credential proxy :" + PROXY_PORT,
          gateway,
          PROXY_PORT);
      tcp(
          probes,
          policy,
          resolutions,
          agent,
          "gateway :" + SSH_LIKE_PORT + " (host service)",
          gateway,
          SSH_LIKE_PORT);
      probes.add(
          new Probe(
              "udp " + API + ":7000",
              policy.permits(Flow.udp(NetnsLab.web(0), NetnsLab.UDP_PORT), gateway, resolutions),
              () -> agent.udp(NetnsLab.web(0), NetnsLab.UDP_PORT)));
      probes.add(new Probe("icmp echo " + API, false, () -> agent.ping(NetnsLab.web(0))));
      probes.add(
          new Probe(
              "dns query to the policy's resolver",
              policy.permits(Flow.udp(NetnsLab.dnsServer(), 53), gateway, resolutions),
              () -> agent.dnsQuery(NetnsLab.dnsServer(), API)));
      probes.add(
          new Probe(
              "dns query to another resolver",
              policy.permits(Flow.udp(NetnsLab.otherDnsServer(), 53), gateway, resolutions),
              () -> agent.dnsQuery(NetnsLab.otherDnsServer(), API)));
      probes.add(
          new Probe(
              "unattached container -> " + API + ":443",
              false,
              () -> unattached.tcp(NetnsLab.web(0), 443)));
      mismatches = printTable(out, "attached", probes);

      attachment.detach();
      List<Probe> after =
          List.of(
              new Probe(
                  "after detach: " + API + ":443", false, () -> agent.tcp(NetnsLab.web(0), 443)));
      mismatches += printTable(out, "detached", after);
    }
    out.println();
    out.println(
        mismatches == 0
            ? "All probes matched the policy. Lab removed."
            : mismatches + " probe(s) did not match the policy. Lab removed.");
    return mismatches == 0 ? 0 : 1;
  }

  private static void tcp(
      List<Probe> probes,
      EgressPolicy policy,
      Resolutions resolutions,
      LabContainer from,
      String description,
      InetAddress target,
      int port) {
    boolean expected =
        policy.permits(Flow.tcp(target, port), from.endpoint().gateway(), resolutions);
    probes.add(new Probe("tcp " + description, expected, () -> from.tcp(target, port)));
  }

  private static int printTable(PrintStream out, String phase, List<Probe> probes) {
    out.println();
    out.printf("%-46s %-9s %-9s%n", "destination (" + phase + ")", "expected", "actual");
    int mismatches = 0;
    for (Probe probe : probes) {
      boolean reached = probe.action().get().reached();
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
