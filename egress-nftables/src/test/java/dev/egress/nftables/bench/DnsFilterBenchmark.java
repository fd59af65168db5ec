package dev.egress.nftables.bench;

import dev.egress.lab.LabContainer;
import dev.egress.lab.LabProcess;
import dev.egress.lab.NetnsLab;
import dev.egress.nftables.FilterLabMain;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Benchmark command (root; Debian {@code dnsmasq-base} or {@code dnsmasq}): the DNS filter with the
 * nftables enforcer against dnsmasq as a plain forwarding resolver, side by side in one {@link
 * NetnsLab}. Both listen on the lab host's loopback and forward to the same upstream (the filter's
 * {@code TestDnsServer} on the host's 127.0.0.1); container 1 is attached with {@code dns filter}
 * and asks the filter, container 2 with {@code dns DNSMASQ} and asks dnsmasq; a {@link DnsLoadMain}
 * in each container's namespace sends the queries. Prints, per round (alternating):
 *
 * <ul>
 *   <li>cached: p50/p99 of one allowed name asked over and over (the filter answers from its grant
 *       and cache, dnsmasq from its cache);
 *   <li>uncached: p50/p99 of names neither has seen, each with an address of its own (under the
 *       filter's wildcard: one upstream query and one kernel update each, through the enforcer's
 *       grant session), the upstream's round trip in both;
 *   <li>throughput: 8 clients, half the queries a cached allowed name, half refused names;
 * </ul>
 *
 * then memory: the filter process's heap per attached container (100 more attached) and per cached
 * name (after the uncached rounds), and both processes' resident size.
 *
 * <p>Before the rounds, warm-up rounds ask each side {@value #UNCACHED} uncached names, printed as
 * {@code warm-up} and not counted: the filter's first uncached names after it starts are slower
 * than the later ones (its code runs interpreted until C1 compiles it:
 * docs/dns-filter-performance.md), and the measured rounds are the steady state.
 *
 * <p>Arguments: rounds (default 3), warm-up rounds (default 2). The load client runs with C1 only
 * and the serial collector, so that its own compiler does not compete with the servers for the
 * machine's cores while it measures them.
 */
public final class DnsFilterBenchmark {
  private static final InetAddress FILTER = IpAddresses.parse("10.76.0.53");
  private static final InetAddress DNSMASQ = IpAddresses.parse("10.76.0.54");
  private static final String ALLOWED = "api.bench.test";
  private static final int UNCACHED = 500;
  private static final int EXTRA_CONTAINERS = 100;

  private DnsFilterBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    int warmUpRounds = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    try (NetnsLab lab = NetnsLab.start(2);
        LabProcess filter = FilterLabMain.start(lab, FILTER, Duration.ofMinutes(5))) {
      filter.ask("set " + ALLOWED + " 300 " + IpAddresses.format(NetnsLab.web(0)));
      // Rounds 0 to warmUpRounds - 1 are the warm-up's, the rest measured.
      for (int round = 0; round < warmUpRounds + rounds; round++) {
        for (int side = 0; side < 2; side++) {
          for (int i = 0; i < UNCACHED; i++) {
            // An address of its own for every name: one already granted is answered without a
            // kernel update, which is what the uncached figure must include.
            filter.ask(
                "set "
                    + uncached(side == 0 ? "f" : "d", round, i)
                    + " 300 10."
                    + (100 + round)
                    + "."
                    + (side * 2 + i / 250)
                    + "."
                    + (i % 250 + 1));
          }
        }
      }
      LabContainer filtered = lab.container(1);
      LabContainer plain = lab.container(2);
      FilterLabMain.attach(
          filter,
          "filtered",
          filtered,
          "allow " + ALLOWED + " port 443|allow *.cdn.bench.test port 443|dns filter");
      FilterLabMain.attach(
          filter,
          "plain",
          plain,
          "allow " + ALLOWED + " port 443|dns " + IpAddresses.format(DNSMASQ));
      Process dnsmasq = startDnsmasq(lab, Integer.parseInt(filter.ask("upstream")));
      try {
        List<String> mix = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          mix.add(ALLOWED);
          mix.add("r" + i + ".exfil.bench.test");
        }
        for (int round = 0; round < warmUpRounds; round++) {
          System.out.println("warm-up round " + (round + 1) + " (load " + load() + ")");
          for (boolean viaFilter : List.of(true, false)) {
            List<String> each =
                uncachedQueries(viaFilter ? FILTER : DNSMASQ, viaFilter ? "f" : "d", round);
            System.out.println(
                "  "
                    + (viaFilter ? "filter " : "dnsmasq")
                    + " warm-up  "
                    + load(lab, viaFilter ? filtered : plain, each));
          }
        }
        long heapBefore = Long.parseLong(filter.ask("heap"));
        for (int measured = 0; measured < rounds; measured++) {
          int round = warmUpRounds + measured;
          System.out.println("round " + (measured + 1) + " (load " + load() + ")");
          for (boolean viaFilter : List.of(true, false)) {
            String who = viaFilter ? "filter " : "dnsmasq";
            LabContainer client = viaFilter ? filtered : plain;
            InetAddress server = viaFilter ? FILTER : DNSMASQ;
            List<String> cached =
                new ArrayList<>(List.of("latency", addr(server), "5000", ALLOWED));
            System.out.println("  " + who + " cached   " + load(lab, client, cached));
            List<String> each = uncachedQueries(server, viaFilter ? "f" : "d", round);
            System.out.println("  " + who + " uncached " + load(lab, client, each));
            List<String> throughput =
                new ArrayList<>(List.of("throughput", addr(server), "8", "8"));
            throughput.addAll(mix);
            System.out.println("  " + who + " mix      " + load(lab, client, throughput));
          }
        }
        long heapAfterNames = Long.parseLong(filter.ask("heap"));
        System.out.printf(
            "filter heap per cached name (%d names asked): %d bytes%n",
            rounds * UNCACHED, (heapAfterNames - heapBefore) / (rounds * UNCACHED));
        for (int i = 0; i < EXTRA_CONTAINERS; i++) {
          filter.ask(
              "attach m"
                  + i
                  + " 10.77.0."
                  + (100 + i)
                  + " fd00:77::"
                  + Integer.toHexString(0x100 + i)
                  + " allow "
                  + ALLOWED
                  + " port 443|allow *.cdn.bench.test port 443|dns filter");
        }
        long heapAfterContainers = Long.parseLong(filter.ask("heap"));
        System.out.printf(
            "filter heap per attached container: %d bytes%n",
            (heapAfterContainers - heapAfterNames) / EXTRA_CONTAINERS);
        System.out.printf(
            "resident: filter process (JVM, enforcer and filter) %d KiB, dnsmasq %d KiB%n",
            residentKib(filter.pid()), residentKib(dnsmasq.pid()));
      } finally {
        dnsmasq.destroy();
        dnsmasq.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** A load client's arguments: {@value #UNCACHED} names of {@code round} not asked before. */
  private static List<String> uncachedQueries(InetAddress server, String side, int round) {
    List<String> each = new ArrayList<>(List.of("each", addr(server), ALLOWED));
    for (int i = 0; i < UNCACHED; i++) {
      each.add(uncached(side, round, i));
    }
    return each;
  }

  private static String uncached(String side, int round, int i) {
    return side + round + "n" + i + ".cdn.bench.test";
  }

  private static String addr(InetAddress address) {
    return IpAddresses.format(address);
  }

  private static Process startDnsmasq(NetnsLab lab, int upstreamPort) throws Exception {
    lab.exec(
        lab.hostNamespace(),
        "ip",
        "address",
        "add",
        IpAddresses.format(DNSMASQ) + "/32",
        "dev",
        "lo");
    List<String> command =
        lab.inHost(
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=" + IpAddresses.format(DNSMASQ),
            "--server=127.0.0.1#" + upstreamPort,
            "--cache-size=10000",
            "--pid-file=",
            "--log-facility=-");
    Path log = Files.createTempFile("dnsmasq", ".log");
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Thread.sleep(500);
    if (!process.isAlive()) {
      throw new IOException("dnsmasq exited: " + Files.readString(log));
    }
    return process;
  }

  /** Runs a {@link DnsLoadMain} in {@code client}'s namespace and returns its line. */
  private static String load(NetnsLab lab, LabContainer client, List<String> arguments)
      throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                "ip",
                "netns",
                "exec",
                client.namespace(),
                ProcessHandle.current().info().command().orElse("java"),
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty("java.class.path"),
                DnsLoadMain.class.getName()));
    command.addAll(arguments);
    Path errors = Files.createTempFile("dns-load", ".err");
    Process process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IOException("load client failed: " + out + Files.readString(errors));
      }
    } finally {
      Files.deleteIfExists(errors);
    }
    return out.strip();
  }

  private static long residentKib(long pid) throws IOException {
    Matcher rss =
        Pattern.compile("(?m)^VmRSS:\\s+(\\d+) kB")
            .matcher(Files.readString(Path.of("/proc/" + pid + "/status")));
    return rss.find() ? Long.parseLong(rss.group(1)) : -1;
  }

  private static String load() throws IOException {
    return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
  }
}
