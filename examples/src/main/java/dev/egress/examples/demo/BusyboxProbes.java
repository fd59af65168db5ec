package dev.egress.examples.demo;

import dev.egress.container.ContainerCliException;
import dev.egress.container.ContainerRuntime;
import dev.egress.lab.DnsAnswer;
import dev.egress.lab.HostUplink;
import dev.egress.lab.Outcome;
import dev.egress.policy.IpAddresses;
import dev.egress.process.Command;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Real packets from inside a running container, sent with the busybox tools of the test image
 * ({@code scripts/docker-test-image}) through the runtime's {@code exec}, to a {@link HostUplink}'s
 * servers or anywhere else. Each probe says whether its packet got through. Thread-safe.
 */
public final class BusyboxProbes {
  /**
   * How busybox nslookup reports an answer without records: {@code ** server can't find N: RCODE}.
   */
  private static final Pattern CANNOT_FIND = Pattern.compile("server can't find [^:]+: ([A-Z]+)");

  private final ContainerRuntime runtime;
  private final HostUplink uplink;

  public BusyboxProbes(ContainerRuntime runtime, HostUplink uplink) {
    this.runtime = runtime;
    this.uplink = uplink;
  }

  /**
   * Waits, at most 10 s, until the host's IPv6 addresses on {@code bridge} have passed duplicate
   * address detection. Docker adds the network's gateway address as tentative, and detection starts
   * only when the first container's link comes up; until it ends (about a second) the host answers
   * no neighbour solicitation for the gateway, so the container's IPv6 packets go nowhere and a
   * probe would report a refusal that no rule made.
   *
   * @throws IOException if an address is still tentative after 10 s, or {@code ip} fails
   */
  public static void awaitIpv6Settled(ProcessRunner processes, String bridge)
      throws IOException, InterruptedException {
    Command tentative =
        new Command(
            List.of("ip", "-6", "address", "show", "dev", bridge, "tentative"),
            "",
            Duration.ofSeconds(5));
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      ProcessResult result = processes.run(tentative);
      if (!result.succeeded()) {
        throw new IOException("cannot list the addresses of " + bridge + ": " + result.summary());
      }
      if (result.stdout().isBlank()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IOException(
            "IPv6 addresses on " + bridge + " still tentative after 10 s:\n" + result.stdout());
      }
      Thread.sleep(100);
    }
  }

  /** Whether a TCP connection to {@code target:port} opened ({@code nc}, 2 s). */
  public boolean tcp(String id, InetAddress target, int port)
      throws ContainerCliException, InterruptedException {
    return runtime
        .exec(id, List.of("nc", "-w", "2", IpAddresses.format(target), Integer.toString(port)))
        .succeeded();
  }

  /**
   * Whether a datagram sent to {@code target:port} (a DNS query, by {@code nslookup}) reached the
   * uplink's UDP echo server there: counted on the server, since the client cannot tell a drop from
   * a silent server.
   */
  public boolean udp(String id, InetAddress target, int port)
      throws ContainerCliException, InterruptedException, IOException {
    int before = uplink.received(port);
    runtime.exec(
        id, List.of("nslookup", "-timeout=1", "probe", IpAddresses.format(target) + ":" + port));
    return uplink.received(port) > before;
  }

  /** Whether an ICMP echo to {@code target} was answered ({@code ping}, 2 s). */
  public boolean ping(String id, InetAddress target)
      throws ContainerCliException, InterruptedException {
    return runtime
        .exec(id, List.of("ping", "-c", "1", "-W", "2", IpAddresses.format(target)))
        .succeeded();
  }

  /**
   * Whether {@code nslookup NAME [SERVER]} got an answer holding {@code expected}; without a server
   * it asks the container's own resolver (Docker's embedded DNS, which forwards to {@code --dns}).
   */
  public boolean lookup(String id, String name, @Nullable InetAddress server, InetAddress expected)
      throws ContainerCliException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("nslookup", "-timeout=2", name));
    if (server != null) {
      command.add(IpAddresses.format(server));
    }
    ProcessResult result = runtime.exec(id, command);
    return result.succeeded() && result.stdout().contains(IpAddresses.format(expected));
  }

  /**
   * Asks {@code server} for the A records of {@code name} ({@code nslookup -type=a}), and returns
   * what came back: the response code and the answer's addresses, or a timeout.
   */
  public DnsAnswer resolve(String id, InetAddress server, String name)
      throws ContainerCliException, InterruptedException {
    return nslookupAnswer(
        runtime.exec(
            id, List.of("nslookup", "-type=a", "-timeout=2", name, IpAddresses.format(server))));
  }

  /** Reads busybox {@code nslookup}'s output: the server block, a blank line, then the answer. */
  static DnsAnswer nslookupAnswer(ProcessResult result) {
    Matcher refused = CANNOT_FIND.matcher(result.stdout() + result.stderr());
    if (refused.find()) {
      return new DnsAnswer(Outcome.REACHED, refused.group(1), List.of());
    }
    if (!result.succeeded()) {
      return new DnsAnswer(Outcome.TIMEOUT, null, List.of());
    }
    List<InetAddress> addresses = new ArrayList<>();
    boolean answer = false;
    for (String line : result.stdout().lines().toList()) {
      if (line.isBlank()) {
        answer = true;
      } else if (answer && line.startsWith("Address:")) {
        addresses.add(IpAddresses.parse(line.substring("Address:".length()).strip()));
      }
    }
    return new DnsAnswer(Outcome.REACHED, "NOERROR", addresses);
  }
}
