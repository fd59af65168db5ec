package dev.egress.examples.demo;

import dev.egress.container.ContainerCliException;
import dev.egress.container.ContainerRuntime;
import dev.egress.lab.DnsAnswer;
import dev.egress.lab.HostUplink;
import dev.egress.lab.Outcome;
import dev.egress.policy.IpAddresses;
import dev.egress.process.ProcessResult;
import java.io.IOException;
import java.net.InetAddress;
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
