package dev.egress.lab;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The lab's "internet" for containers that a real runtime (Docker) runs in the machine's own
 * namespace: one namespace, {@code egress-test-up<pid>}, reached from the caller's namespace over
 * the veth {@code egtu<pid>} and routes to its addresses, serving what {@link NetnsLab}'s internet
 * serves on the same addresses ({@link NetnsLab#web}, {@link NetnsLab#webV6}, {@link
 * NetnsLab#dnsServer()}, {@link NetnsLab#otherDnsServer()}): TCP echo on {@link
 * NetnsLab#TCP_PORTS}, UDP echo on {@link NetnsLab#UDP_PORTS}, DNS answering from {@link #names()}.
 * Traffic from a container to those addresses crosses the caller's forward hook, where the enforcer
 * filters it.
 *
 * <p>Changes the caller's namespace: adds the veth, the routes {@code 10.99.0.0/24} and {@code
 * fd00:99::/64}, and turns IPv6 forwarding on (IPv4 forwarding is left as it is); {@link #close}
 * removes the veth, routes and namespace, and leftovers of a process that is gone are swept at
 * {@link #start}. Two uplinks cannot run at once on one machine (their routes would collide). Needs
 * Linux, root, iproute2 and a JVM. Thread-safe.
 */
public final class HostUplink implements AutoCloseable {
  private static final Pattern OURS = Pattern.compile("^egress-test-up(\\d+)\\b");

  private final String namespace;
  private final String link;
  private @Nullable Agent internet;
  private @Nullable LabNames names;

  private HostUplink(String namespace, String link) {
    this.namespace = namespace;
    this.link = link;
  }

  /**
   * Builds the uplink and starts its servers.
   *
   * @throws IOException if a step failed; nothing of it is left behind
   */
  public static HostUplink start() throws IOException {
    sweepStale();
    long pid = ProcessHandle.current().pid();
    HostUplink uplink = new HostUplink("egress-test-up" + pid, "egtu" + pid);
    try {
      uplink.build();
      return uplink;
    } catch (IOException | RuntimeException e) {
      uplink.close();
      throw e;
    }
  }

  private void build() throws IOException {
    NetnsLab.check(List.of("ip", "netns", "add", namespace), "");
    NetnsLab.check(
        List.of("ip", "-batch", "-"),
        "link add "
            + link
            + " type veth peer name eth0 netns "
            + namespace
            + "\n"
            + "address add 10.98.0.1/24 dev "
            + link
            + "\n"
            + "address add fd00:98::1/64 dev "
            + link
            + " nodad\n"
            + "link set "
            + link
            + " up\n"
            + "route add 10.99.0.0/24 via 10.98.0.2\n"
            + "route add fd00:99::/64 via fd00:98::2\n");
    NetnsLab.check(List.of("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"), "");
    NetnsLab.batch(namespace, NetnsLab.internetSetup());

    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    Agent agent =
        Agent.start(namespace, java, System.getProperty("java.class.path"), NetnsLab.STEP_TIMEOUT);
    internet = agent;
    names = new LabNames(List.of(agent));
    NetnsLab.serveInternet(agent);
  }

  /** The uplink's DNS records, and a resolver that reads them. */
  public LabNames names() {
    return java.util.Objects.requireNonNull(names, "the uplink is closed");
  }

  /** How many TCP connections the servers accepted on {@code port} so far, on any address. */
  public int accepted(int port) throws IOException {
    Agent agent = java.util.Objects.requireNonNull(internet, "the uplink is closed");
    return Integer.parseInt(agent.ask("accepted " + port, NetnsLab.STEP_TIMEOUT));
  }

  /** How many datagrams the UDP echo servers received on {@code port} so far, on any address. */
  public int received(int port) throws IOException {
    Agent agent = java.util.Objects.requireNonNull(internet, "the uplink is closed");
    return Integer.parseInt(agent.ask("received " + port, NetnsLab.STEP_TIMEOUT));
  }

  /**
   * How many queries (any type) for {@code name} the uplink's DNS servers ({@link
   * NetnsLab#dnsServer()}, {@link NetnsLab#otherDnsServer()}) have received so far.
   */
  public int dnsQueries(String name) throws IOException {
    Agent agent = java.util.Objects.requireNonNull(internet, "the uplink is closed");
    return Integer.parseInt(agent.ask("queries " + name, NetnsLab.STEP_TIMEOUT));
  }

  /** Removes the namespace, the veth (its peer goes with the namespace) and the routes. */
  @Override
  public void close() {
    Agent agent = internet;
    if (agent != null) {
      agent.close();
      internet = null;
    }
    names = null;
    try {
      NetnsLab.run(List.of("ip", "link", "del", link), "");
      NetnsLab.delete(namespace);
    } catch (IOException e) {
      // Swept by the next start.
    }
  }

  /** Removes the uplinks of processes that are gone. */
  private static void sweepStale() throws IOException {
    for (String line : NetnsLab.check(List.of("ip", "netns", "list"), "").split("\n")) {
      Matcher ours = OURS.matcher(line.strip());
      if (ours.find()
          && !ProcessHandle.of(Long.parseLong(ours.group(1)))
              .map(ProcessHandle::isAlive)
              .orElse(false)) {
        NetnsLab.run(List.of("ip", "link", "del", "egtu" + ours.group(1)), "");
        NetnsLab.delete(line.strip().split("\\s+")[0]);
      }
    }
  }
}
