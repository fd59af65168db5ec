package dev.egress.lab;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.policy.IpAddresses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One "container" namespace of a {@link NetnsLab}: its addresses and probes that run inside it.
 * Thread-safe; probes of one container run one at a time. Each probe blocks at most for the lab's
 * probe timeout (plus process overhead) and throws {@link UncheckedIOException} only when the lab
 * itself is broken, never because a destination was refused.
 */
public final class LabContainer {
  private final ContainerId id;
  private final String namespace;
  private final InetAddress ipv4;
  private final InetAddress ipv6;
  private final InetAddress gateway;
  private final InetAddress linkLocal;
  private final Agent agent;
  private final Duration probeTimeout;
  private final NetnsLab lab;

  LabContainer(
      NetnsLab lab,
      ContainerId id,
      String namespace,
      InetAddress ipv4,
      InetAddress ipv6,
      InetAddress gateway,
      InetAddress linkLocal,
      Agent agent,
      Duration probeTimeout) {
    this.lab = lab;
    this.id = id;
    this.namespace = namespace;
    this.ipv4 = ipv4;
    this.ipv6 = ipv6;
    this.gateway = gateway;
    this.linkLocal = linkLocal;
    this.agent = agent;
    this.probeTimeout = probeTimeout;
  }

  /** The endpoint to attach: this container's id, both addresses and its IPv4 gateway. */
  public ContainerEndpoint endpoint() {
    return new ContainerEndpoint(id, List.of(ipv4, ipv6), gateway);
  }

  /** The same addresses under another id: a new container that reuses this one's addresses. */
  public ContainerEndpoint endpointAs(ContainerId newId) {
    return new ContainerEndpoint(newId, List.of(ipv4, ipv6), gateway);
  }

  public ContainerId id() {
    return id;
  }

  public String namespace() {
    return namespace;
  }

  public InetAddress ipv4() {
    return ipv4;
  }

  public InetAddress ipv6() {
    return ipv6;
  }

  /**
   * Starts a TCP echo server in the container on {@code port}, on all its addresses, for the host
   * or other containers to connect to; it runs until the lab closes.
   *
   * @throws IOException if the agent cannot listen there
   */
  public void listen(int port) throws IOException {
    agent.ask("tcp-echo " + port + " ::", probeTimeout.plusSeconds(5));
  }

  /** Opens and closes a TCP connection. */
  public Outcome tcp(InetAddress target, int port) {
    return probe("connect - " + IpAddresses.format(target) + " " + port + " " + millis());
  }

  /**
   * Opens and closes a TCP connection to a link-local address on the container's link ({@code
   * eth0}), from the container's own link-local address.
   */
  public Outcome tcpOnLink(InetAddress linkLocal, int port) {
    if (!linkLocal.isLinkLocalAddress()) {
      throw new IllegalArgumentException(IpAddresses.format(linkLocal) + " is not link-local");
    }
    return probe("connect - " + IpAddresses.format(linkLocal) + "%eth0 " + port + " " + millis());
  }

  /** The link-local address the lab gave the container (besides the one the kernel makes). */
  public InetAddress linkLocal() {
    return linkLocal;
  }

  /** Sends one UDP datagram to an echo server and waits for it to come back. */
  public Outcome udp(InetAddress target, int port) {
    return probe("udp " + IpAddresses.format(target) + " " + port + " " + millis());
  }

  /**
   * Sends {@code count} UDP datagrams to {@code target} as fast as the kernel takes them, waiting
   * for no answer: a flood. Blocks until they are sent, however long that takes.
   */
  public void udpBurst(InetAddress target, int port, int count) {
    burst(IpAddresses.isIpv6(target) ? "::" : "0.0.0.0", target, port, count);
  }

  /**
   * Sends one UDP datagram to {@code target} from {@code forged}, an address no route of the lab
   * knows, which this adds to the container's {@code eth0} first (as a container with CAP_NET_ADMIN
   * could): a spoofed source.
   */
  public void udpFromForged(InetAddress forged, InetAddress target, int port) {
    udpFromForged(forged, 0, target, port);
  }

  /**
   * {@link #udpFromForged(InetAddress, InetAddress, int)} from port {@code forgedPort} of the
   * forged address (0: any), as a forged reply to a flow the forged address takes part in.
   */
  public void udpFromForged(InetAddress forged, int forgedPort, InetAddress target, int port) {
    if (IpAddresses.isIpv6(forged) != IpAddresses.isIpv6(target)) {
      throw new IllegalArgumentException("the forged source and the target differ in family");
    }
    String prefix = IpAddresses.format(forged) + (IpAddresses.isIpv6(forged) ? "/128" : "/32");
    try {
      if (!lab.exec(namespace, "ip", "address", "show", "dev", "eth0").contains(prefix + " ")) {
        List<String> add = new ArrayList<>(List.of("ip", "address", "add", prefix, "dev", "eth0"));
        if (IpAddresses.isIpv6(forged)) {
          // Usable at once, and deprecated: the kernel never picks it for the container's own
          // traffic, which would otherwise tie with the lab's address in source selection.
          add.addAll(List.of("nodad", "preferred_lft", "0"));
        }
        lab.exec(namespace, add.toArray(String[]::new));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("adding " + prefix + " in " + namespace + " failed", e);
    }
    burst(IpAddresses.format(forged), target, port, 1, forgedPort);
  }

  private void burst(String source, InetAddress target, int port, int count) {
    burst(source, target, port, count, 0);
  }

  private void burst(String source, InetAddress target, int port, int count, int sourcePort) {
    if (count < 1) {
      throw new IllegalArgumentException("a burst has at least one datagram: " + count);
    }
    String command =
        "burst "
            + source
            + " "
            + IpAddresses.format(target)
            + " "
            + port
            + " "
            + count
            + " "
            + sourcePort;
    try {
      // A datagram takes microseconds; a second per 10,000 is generous even on a busy machine.
      String answer = agent.ask(command, probeTimeout.plusSeconds(5 + count / 10_000));
      if (!answer.equals("sent " + count)) {
        throw new IOException("unexpected answer '" + answer + "'");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("'" + command + "' in " + namespace + " failed", e);
    }
  }

  /** One ICMP echo request. A refused ping is reported as {@link Outcome#TIMEOUT}. */
  public Outcome ping(InetAddress target) {
    return probe("ping " + IpAddresses.format(target) + " " + millis());
  }

  /** Asks {@code server} (UDP port 53) for the A records of {@code name}. */
  public Outcome dnsQuery(InetAddress server, String name) {
    return probe("dnsq " + IpAddresses.format(server) + " " + name + " " + millis());
  }

  /**
   * Asks {@code server} (UDP port 53) for the A records of {@code name}, and returns what came
   * back: the response code and the answer's addresses, or the outcome without an answer.
   */
  public DnsAnswer resolve(InetAddress server, String name) {
    String command = "dnsq " + IpAddresses.format(server) + " " + name + " " + millis();
    try {
      return DnsAnswer.parse(agent.ask(command, probeTimeout.plusSeconds(5)));
    } catch (IOException e) {
      throw new UncheckedIOException("probe '" + command + "' in " + namespace + " failed", e);
    }
  }

  /** Opens a TCP connection and keeps it under {@code handle} for {@link #exchange}. */
  public Outcome open(String handle, InetAddress target, int port) {
    return probe("open " + handle + " " + IpAddresses.format(target) + " " + port + " " + millis());
  }

  /** Sends a line over the held connection {@code handle} and waits for its echo. */
  public Outcome exchange(String handle) {
    return probe("send " + handle + " " + millis());
  }

  private String millis() {
    return Long.toString(probeTimeout.toMillis());
  }

  private Outcome probe(String command) {
    try {
      return Outcome.parse(agent.ask(command, probeTimeout.plusSeconds(5)));
    } catch (IOException e) {
      throw new UncheckedIOException("probe '" + command + "' in " + namespace + " failed", e);
    }
  }

  @Override
  public String toString() {
    return id
        + " ("
        + namespace
        + ", "
        + IpAddresses.format(ipv4)
        + ", "
        + IpAddresses.format(ipv6)
        + ")";
  }
}
