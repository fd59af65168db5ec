package dev.egress.nftables;

import dev.egress.dns.DnsNameResolver;
import dev.egress.dns.filter.DnsFilter;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.lab.LabContainer;
import dev.egress.lab.LabProcess;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.PolicyText;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The enforcer and its DNS filter as egressd would run them, in a process of its own inside a lab's
 * host namespace (where the filter's sockets must be): an {@link NftEgressEnforcer} built with the
 * filter's address, a {@link DnsFilter} on port 53 of that address, and the filter's upstream, a
 * {@link TestDnsServer} on the host's loopback that counts what reaches it. Prints {@code ready},
 * then answers each command line with one line:
 *
 * <ul>
 *   <li>{@code set NAME TTL_SECONDS ADDRESS[,ADDRESS...]}: the upstream's records → {@code done};
 *   <li>{@code attach ID IPV4 IPV6 POLICY} (the policy's lines joined by {@code |}) → {@code done}
 *       or {@code failed MESSAGE};
 *   <li>{@code health}: a health check, which repairs the table → {@code done};
 *   <li>{@code queries NAME} / {@code total}: what reached the upstream → a number;
 *   <li>{@code restart}: as egressd restarts: the filter and enforcer closed (the rules stay), a
 *       new enforcer that takes over each attachment with its policy, and a new filter → {@code
 *       done} or {@code failed MESSAGE};
 *   <li>{@code upstream}: the upstream's port on the host's loopback → a number;
 *   <li>{@code heap}: the heap in use after garbage collection → bytes.
 * </ul>
 *
 * <p>Arguments: the filter's address, the grace in milliseconds, the guarded networks
 * (comma-separated).
 */
public final class FilterLabMain {
  private FilterLabMain() {}

  /**
   * Starts one in {@code lab}'s host namespace with the filter on {@code filter} (added to the
   * host's loopback), the lab's container networks guarded.
   */
  public static LabProcess start(NetnsLab lab, InetAddress filter, Duration grace)
      throws java.io.IOException {
    lab.exec(
        lab.hostNamespace(),
        "ip",
        "address",
        "add",
        IpAddresses.format(filter) + "/32",
        "dev",
        "lo");
    return LabProcess.startInHost(
        lab,
        FilterLabMain.class.getName(),
        IpAddresses.format(filter),
        Long.toString(grace.toMillis()),
        lab.containerNetworks().stream().map(IpNetwork::toString).collect(Collectors.joining(",")));
  }

  /** Attaches (or updates) {@code container} as {@code id}, the policy's lines joined by |. */
  public static void attach(LabProcess filter, String id, LabContainer container, String policy)
      throws java.io.IOException {
    filter.ask(
        "attach "
            + id
            + " "
            + IpAddresses.format(container.ipv4())
            + " "
            + IpAddresses.format(container.ipv6())
            + " "
            + policy);
  }

  public static void main(String[] args) throws Exception {
    InetAddress filterAddress = IpAddresses.parse(args[0]);
    Duration grace = Duration.ofMillis(Long.parseLong(args[1]));
    List<IpNetwork> networks = Arrays.stream(args[2].split(",")).map(IpNetwork::parse).toList();
    NftGuard guard = new NftGuard(List.of(NetnsLab.BRIDGE), networks, false);
    // What egressd's state file would hold: each attachment with the policy in force.
    Map<ContainerId, Attached> attached = new LinkedHashMap<>();
    try (TestDnsServer upstream =
            TestDnsServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        DnsNameResolver resolver =
            DnsNameResolver.builder()
                .servers(List.of(upstream.address()))
                .ttlFloor(Duration.ofSeconds(1))
                .build()) {
      NftEgressEnforcer enforcer = enforcer(resolver, guard, filterAddress);
      DnsFilter filter = start(enforcer, resolver, filterAddress, grace);
      System.out.println("ready");
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        String[] words = line.split(" ", 5);
        try {
          switch (words[0]) {
            case "set" -> {
              upstream.setAddresses(
                  words[1], Duration.ofSeconds(Long.parseLong(words[2])), words[3].split(","));
              System.out.println("done");
            }
            case "attach" -> {
              Attached attachment =
                  new Attached(
                      new ContainerEndpoint(
                          ContainerId.of(words[1]),
                          List.of(IpAddresses.parse(words[2]), IpAddresses.parse(words[3])),
                          null),
                      PolicyText.parse(words[4].replace('|', '\n'), "lab"));
              enforcer.attach(attachment.container(), attachment.policy());
              attached.put(attachment.container().id(), attachment);
              System.out.println("done");
            }
            case "health" -> {
              enforcer.checkHealth();
              System.out.println("done");
            }
            case "queries" -> System.out.println(upstream.queries(words[1]));
            case "total" -> System.out.println(upstream.totalQueries());
            case "restart" -> {
              // As a restarted egressd: a new enforcer and filter over the rules the old ones
              // left, each attachment taken over with its policy.
              filter.close();
              enforcer.close();
              enforcer = enforcer(resolver, guard, filterAddress);
              enforcer.checkHealth(); // as egressd does before it takes over
              for (Attached attachment : attached.values()) {
                enforcer.attach(attachment.container(), attachment.policy());
              }
              filter = start(enforcer, resolver, filterAddress, grace);
              System.out.println("done");
            }
            case "upstream" -> System.out.println(upstream.address().getPort());
            case "heap" -> System.out.println(usedHeap());
            default -> System.out.println("failed unknown command " + words[0]);
          }
        } catch (Exception e) {
          System.out.println("failed " + String.valueOf(e.getMessage()).replace('\n', ' '));
        }
      }
      filter.close();
      enforcer.close();
    }
  }

  /** An attachment as the lab was told it. */
  private record Attached(ContainerEndpoint container, EgressPolicy policy) {}

  private static NftEgressEnforcer enforcer(
      DnsNameResolver resolver, NftGuard guard, InetAddress filterAddress) {
    return NftEgressEnforcer.builder()
        .resolver(resolver)
        .guard(guard)
        .dnsFilter(filterAddress)
        .noHealthChecks()
        .build();
  }

  private static long usedHeap() {
    Runtime runtime = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return runtime.totalMemory() - runtime.freeMemory();
  }

  private static DnsFilter start(
      NftEgressEnforcer enforcer, DnsNameResolver resolver, InetAddress address, Duration grace)
      throws java.io.IOException {
    return DnsFilter.builder()
        .attachments(enforcer)
        .resolver(resolver)
        .listen(new InetSocketAddress(address, 53))
        .grace(grace)
        .start();
  }
}
