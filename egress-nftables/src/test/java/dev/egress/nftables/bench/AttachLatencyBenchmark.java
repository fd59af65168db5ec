package dev.egress.nftables.bench;

import dev.egress.dns.DnsNameResolver;
import dev.egress.enforcer.Attachment;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.lab.dns.TestDnsServer;
import dev.egress.nftables.NftEgressEnforcer;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.Destination;
import dev.egress.policy.DnsRule;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark command (not JMH: the subject is a real kernel in a {@link NetnsLab}): time from {@code
 * attach()} to enforced — an allowed probe connected and a denied one refused — for the nftables
 * enforcer with a warm and a cold resolver cache, and for the common script approach (one {@code
 * dig} per name, one {@code ipset add} process per address, iptables rules) on the same allowlist,
 * lab and DNS server. Prints medians of {@code runs} (default 10). Root only.
 */
public final class AttachLatencyBenchmark {
  private static final int NAMES = 20;

  private AttachLatencyBenchmark() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    try (NetnsLab lab = NetnsLab.start(1);
        TestDnsServer dns = TestDnsServer.start()) {
      for (int i = 0; i < NAMES; i++) {
        // name0 is the allowed probe's target; the others resolve to addresses nothing uses.
        dns.setAddresses(
            name(i),
            Duration.ofMinutes(10),
            i == 0 ? IpAddresses.format(NetnsLab.web(0)) : "10.99.1." + (i + 1));
      }
      LabContainer container = lab.container(1);
      EgressPolicy policy = policy();
      NftGuard guard = new NftGuard(List.of(NetnsLab.BRIDGE), lab.containerNetworks(), false);

      List<Long> warm = new ArrayList<>();
      try (DnsNameResolver resolver = resolver(dns);
          NftEgressEnforcer enforcer = enforcer(resolver, lab, guard)) {
        enforcer.attach(container.endpoint(), policy).detach(); // warms cache, JIT, table
        for (int run = 0; run < runs; run++) {
          long start = System.nanoTime();
          Attachment attachment = enforcer.attach(container.endpoint(), policy);
          enforced(container);
          warm.add(System.nanoTime() - start);
          attachment.detach();
        }
      }
      List<Long> cold = new ArrayList<>();
      for (int run = 0; run < runs; run++) {
        try (DnsNameResolver resolver = resolver(dns);
            NftEgressEnforcer enforcer = enforcer(resolver, lab, guard)) {
          long start = System.nanoTime();
          Attachment attachment = enforcer.attach(container.endpoint(), policy);
          enforced(container);
          cold.add(System.nanoTime() - start);
          attachment.detach();
        }
      }
      run(lab.inHost("nft", "delete", "table", "inet", "egress"));
      List<Long> script = new ArrayList<>();
      for (int run = 0; run < runs; run++) {
        resetScriptState(lab);
        long start = System.nanoTime();
        scriptApproach(lab, container, dns);
        enforced(container);
        script.add(System.nanoTime() - start);
      }
      resetScriptState(lab);

      System.out.printf("attach -> enforced, %d names, median of %d runs:%n", NAMES, runs);
      System.out.printf("  nftables enforcer, warm resolver cache : %6.1f ms%n", median(warm));
      System.out.printf("  nftables enforcer, cold (new resolver) : %6.1f ms%n", median(cold));
      System.out.printf("  script (dig + ipset add + iptables)    : %6.1f ms%n", median(script));
      System.out.printf(
          "  script / enforcer cold = %.1fx, script / enforcer warm = %.1fx%n",
          median(script) / median(cold), median(script) / median(warm));
    }
  }

  private static String name(int i) {
    return "name" + i + ".bench.test";
  }

  private static EgressPolicy policy() {
    EgressPolicy.Builder builder =
        EgressPolicy.builder().dns(DnsRule.servers(NetnsLab.dnsServer()));
    for (int i = 0; i < NAMES; i++) {
      builder.allowTcp(Destination.host(name(i)), 443);
    }
    return builder.build();
  }

  private static DnsNameResolver resolver(TestDnsServer dns) {
    return DnsNameResolver.builder().servers(List.of(dns.address())).build();
  }

  private static NftEgressEnforcer enforcer(
      DnsNameResolver resolver, NetnsLab lab, NftGuard guard) {
    return NftEgressEnforcer.builder()
        .resolver(resolver)
        .nftCommand(lab.inHost("nft"))
        .conntrackCommand(lab.inHost("conntrack"))
        .procNet(lab.hostProcNet())
        .guard(guard)
        .build();
  }

  /** Enforced: the allowed destination connects and a denied one is refused. */
  private static void enforced(LabContainer container) {
    Outcome allowed = container.tcp(NetnsLab.web(0), 443);
    Outcome denied = container.tcp(NetnsLab.web(2), 443);
    if (allowed != Outcome.REACHED || denied != Outcome.REFUSED) {
      throw new IllegalStateException("not enforced: allowed " + allowed + ", denied " + denied);
    }
  }

  /** What many setup scripts do: a dig per name, an ipset add per address, iptables rules. */
  private static void scriptApproach(NetnsLab lab, LabContainer container, TestDnsServer dns)
      throws IOException, InterruptedException {
    String source = IpAddresses.format(container.ipv4());
    String resolver = IpAddresses.format(NetnsLab.dnsServer());
    run(lab.inHost("ipset", "create", "allowed", "hash:ip"));
    for (int i = 0; i < NAMES; i++) {
      String answer =
          run(
              List.of(
                  "dig",
                  "+short",
                  "+time=2",
                  "+tries=1",
                  "@" + dns.address().getAddress().getHostAddress(),
                  "-p",
                  Integer.toString(dns.address().getPort()),
                  name(i),
                  "A"));
      for (String address : answer.strip().split("\\s+")) {
        if (!address.isEmpty()) {
          run(lab.inHost("ipset", "add", "allowed", address));
        }
      }
    }
    for (String protocol : List.of("udp", "tcp")) {
      run(
          lab.inHost(
              "iptables",
              "-A",
              "FORWARD",
              "-s",
              source,
              "-d",
              resolver,
              "-p",
              protocol,
              "--dport",
              "53",
              "-j",
              "ACCEPT"));
    }
    run(
        lab.inHost(
            "iptables",
            "-A",
            "FORWARD",
            "-s",
            source,
            "-p",
            "tcp",
            "--dport",
            "443",
            "-m",
            "set",
            "--match-set",
            "allowed",
            "dst",
            "-j",
            "ACCEPT"));
    run(
        lab.inHost(
            "iptables",
            "-A",
            "FORWARD",
            "-s",
            source,
            "-p",
            "tcp",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset"));
    run(lab.inHost("iptables", "-A", "FORWARD", "-s", source, "-j", "REJECT"));
  }

  private static void resetScriptState(NetnsLab lab) throws IOException, InterruptedException {
    run(lab.inHost("iptables", "-F", "FORWARD"));
    runIgnoringFailure(lab.inHost("ipset", "destroy", "allowed"));
  }

  private static String run(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(20, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + output);
    }
    return output;
  }

  private static void runIgnoringFailure(List<String> command)
      throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getInputStream().readAllBytes();
    process.waitFor(20, TimeUnit.SECONDS);
  }

  /** The median of {@code nanos}, in milliseconds. */
  static double median(List<Long> nanos) {
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    int n = sorted.size();
    long middle = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    return middle / 1e6;
  }
}
